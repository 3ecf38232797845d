// Deterministic, allocation-free random numbers for the data pipeline. The loader's shuffle and
// augmentation must depend only on (seed, epoch, batch) and be the same on every run and runtime,
// so it does not use HashCode (randomised per process) or System.Random (a class per batch).
// Mixing is SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014);
// bounded draws use Lemire's multiply-shift with rejection ("Fast random integer generation in an
// interval", 2019), so they are unbiased.
namespace IlgpuVit.Data;

/// <summary>A SplitMix64 stream seeded from a tuple of integers.</summary>
internal struct SeedMix
{
    private ulong _state;

    /// <summary>A stream that depends only on the given values and their order.</summary>
    public SeedMix(long a, long b = 0, long c = 0, long d = 0)
    {
        _state = 0x9E3779B97F4A7C15UL;
        _state = Finalise(_state ^ (ulong)a);
        _state = Finalise(_state ^ (ulong)b);
        _state = Finalise(_state ^ (ulong)c);
        _state = Finalise(_state ^ (ulong)d);
    }

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Finalise(_state);
    }

    /// <summary>A uniform integer in [0, bound); <paramref name="bound"/> must be positive.</summary>
    public int Next(int bound)
    {
        // Lemire: the high word of x * bound is uniform once the low word clears the rejection threshold.
        uint range = (uint)bound;
        ulong product = (ulong)(uint)NextUInt64() * range;
        if ((uint)product < range)
        {
            uint threshold = (0u - range) % range;
            while ((uint)product < threshold) product = (ulong)(uint)NextUInt64() * range;
        }
        return (int)(product >> 32);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A fair coin.</summary>
    public bool NextBool() => (NextUInt64() >> 63) != 0;

    private static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
