// The weight generator of scripts/make_hybrid_fixtures.py, bit for bit: a hybrid's 8M parameters are too
// many to commit (33 MB), so the fixture lists each tensor's timm name, shape and law (center, scale),
// and both sides draw its values from a counter-based generator: seed = FNV-1a 64 of the name,
// z_i = splitmix64(seed + (i + 1)·φ64), u_i = (z_i >> 40) / 2^24, w_i = float32(center + scale·(2u_i − 1)),
// all in float64 before the one rounding, so C# and numpy round the same double to the same float.
using System.Text;
using System.Text.Json;

namespace IlgpuVit.Tests.IO;

public static class GeneratedWeights
{
    /// <summary>One tensor of the fixture's manifest.</summary>
    public sealed record Entry(string Name, int[] Shape, double Center, double Scale)
    {
        public long Count => Shape.Aggregate(1L, (n, d) => n * d);

        public float[] Values() => Generate(Name, Count, Center, Scale);
    }

    /// <summary>The manifest JSON [[name, shape, center, scale], ...] of the script, in the torch state dict's order.</summary>
    public static List<Entry> Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray().Select(e => new Entry(
            e[0].GetString()!,
            e[1].EnumerateArray().Select(d => d.GetInt32()).ToArray(),
            e[2].GetDouble(),
            e[3].GetDouble())).ToList();
    }

    /// <summary><paramref name="count"/> values of the tensor named <paramref name="name"/>.</summary>
    public static float[] Generate(string name, long count, double center, double scale)
    {
        ulong seed = 0xCBF29CE484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(name)) seed = (seed ^ b) * 0x100000001B3UL;
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            ulong z = unchecked(seed + (ulong)(i + 1) * 0x9E3779B97F4A7C15UL);
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            z ^= z >> 31;
            double u = (z >> 40) / 16777216.0;
            values[i] = (float)(center + scale * (2.0 * u - 1.0));
        }
        return values;
    }
}
