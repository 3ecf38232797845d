// Shared inputs of the token-reduction kernel tests (selection, plans, merges): the devices they run
// on (every backend plus the GPU simulator, which runs the one-channel-per-index GPU code on the CPU)
// and random selections and plans, built on the host so a test states exactly what it feeds in.
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public static class TokenPlanFixtures
{
    /// <summary>Every backend, and the GPU simulator (GPU code path, span 1, on the CPU).</summary>
    public static TheoryData<string> Devices => new() { "cpu", "cuda", "opencl", "simulator" };

    /// <summary>The device of a name in <see cref="Devices"/>, or a skip when that backend is absent.</summary>
    public static Device Get(string name) => name == "simulator" ? Backends.GpuSimulator : Backends.Get(name);

    /// <summary>
    /// A random Top-K split of each image's tokens 1..T−1: kept (B, K + 1) = CLS then K tokens in order,
    /// dropped (B, T − 1 − K) = the others in order.
    /// </summary>
    public static (int[] Kept, int[] Dropped) Split(int seed, int batch, int tokens, int keep)
    {
        var random = new Random(seed);
        var kept = new List<int>();
        var dropped = new List<int>();
        for (int b = 0; b < batch; b++)
        {
            var chosen = Enumerable.Range(1, tokens - 1).OrderBy(_ => random.Next()).Take(keep).ToHashSet();
            kept.Add(0);
            for (int t = 1; t < tokens; t++) (chosen.Contains(t) ? kept : dropped).Add(t);
        }
        return (kept.ToArray(), dropped.ToArray());
    }

    /// <summary>Values in [low, high): weights and sizes that are positive without being round.</summary>
    public static float[] Positive(int seed, long length, float low = 0.25f, float high = 2f) =>
        Array.ConvertAll(TestData.Uniform(seed, length), v => low + (v + 1f) / 2f * (high - low));

    /// <summary>
    /// The float64 reference of CombineRows for a plan in scatter form: y[b, dest[b, t], :] += w[b, t] x[b, t, :]
    /// for every token whose destination lies in [0, M).
    /// </summary>
    public static double[] Combine(float[] x, int[] destination, float[] weight, int batch, int tokens, int outputs, int channels)
    {
        var y = new double[batch * outputs * channels];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < tokens; t++)
            {
                int m = destination[b * tokens + t];
                if (m < 0 || m >= outputs) continue;
                for (int c = 0; c < channels; c++)
                    y[(b * outputs + m) * channels + c] += (double)weight[b * tokens + t] * x[(b * tokens + t) * channels + c];
            }
        return y;
    }
}
