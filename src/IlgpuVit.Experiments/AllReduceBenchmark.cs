// The all-reduce benchmark of data-parallel training (docs/distributed.md): the time of one in-place sum
// of N floats across a communicator's members, median of the timed repetitions after warm-up, as bus
// bandwidth (the bytes each member sends and receives in a ring, 2 (n - 1) / n x 4N, per second, the
// convention of nccl-tests and the OSU benchmarks) and algorithm bandwidth (4N bytes per second). Check
// first: odd sizes, an empty buffer and one longer than the message limit are summed and compared with
// the exact sum of the members' values (small integers, so float sums are exact).

using System.Diagnostics;
using IlgpuVit.Training;

namespace IlgpuVit.Experiments;

/// <summary>One size of the all-reduce benchmark.</summary>
/// <param name="Floats">Floats per all-reduce.</param>
/// <param name="Microseconds">Median time of one all-reduce.</param>
/// <param name="AlgorithmGBps">4 x Floats bytes per median time, in GB/s.</param>
/// <param name="BusGBps">Algorithm bandwidth times 2 (n - 1) / n, in GB/s.</param>
public sealed record AllReduceTiming(long Floats, double Microseconds, double AlgorithmGBps, double BusGBps);

/// <summary>Checks and times all-reduce on a communicator.</summary>
public static class AllReduceBenchmark
{
    /// <summary>The default sizes: 1 K to 16 M floats (4 KB to 64 MB), by powers of 4.</summary>
    public static readonly long[] DefaultSizes = [1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24];

    /// <summary>
    /// All-reduces buffers of 0, 1, 31, 33, 197 and <paramref name="overLimit"/> floats (member r holds (i mod 7) + r at index i) and
    /// returns the mismatches found, empty when every sum is exact.
    /// </summary>
    public static List<string> Check(ICommunicator comm, int overLimit)
    {
        var errors = new List<string>();
        foreach (int n in new[] { 0, 1, 31, 33, 197, overLimit })
        {
            var data = new float[n];
            for (int i = 0; i < n; i++) data[i] = i % 7 + comm.Rank;
            comm.AllReduceSum(data);
            for (int i = 0; i < n; i++)
            {
                float expected = comm.Size * (i % 7) + comm.Size * (comm.Size - 1) / 2f;
                if (data[i] != expected) { errors.Add($"rank {comm.Rank}: {n} floats, element {i} is {data[i]}, expected {expected}"); break; }
            }
        }
        return errors;
    }

    /// <summary>Times all-reduce of each size: <paramref name="warmup"/> untimed, then <paramref name="runs"/> timed, each after a barrier.</summary>
    public static List<AllReduceTiming> Measure(ICommunicator comm, IEnumerable<long> sizes, int runs = 20, int warmup = 3)
    {
        var results = new List<AllReduceTiming>();
        foreach (long n in sizes)
        {
            var data = new float[n];
            var times = new double[runs];
            for (int k = -warmup; k < runs; k++)
            {
                comm.Barrier();
                long start = Stopwatch.GetTimestamp();
                comm.AllReduceSum(data);
                if (k >= 0) times[k] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            // The slowest member's time is the collective's: take the maximum over the members, then the median over runs.
            var slowest = times.Select(t => (float)t).ToArray();
            AllReduceMax(comm, slowest);
            Array.Sort(slowest);
            double seconds = slowest[runs / 2];
            double algorithm = 4.0 * n / seconds / 1e9;
            results.Add(new AllReduceTiming(n, seconds * 1e6, algorithm, algorithm * 2 * (comm.Size - 1) / comm.Size));
        }
        return results;
    }

    /// <summary>The element-wise maximum over the members (from the sum of one-hot copies: every member's values in turn).</summary>
    private static void AllReduceMax(ICommunicator comm, float[] values)
    {
        var all = new float[values.Length * comm.Size];
        values.CopyTo(all, values.Length * comm.Rank);
        comm.AllReduceSum(all);
        for (int i = 0; i < values.Length; i++)
            for (int r = 0; r < comm.Size; r++) values[i] = Math.Max(values[i], all[r * values.Length + i]);
    }
}
