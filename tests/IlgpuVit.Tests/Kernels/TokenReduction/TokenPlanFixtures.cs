// Shared inputs of the token-reduction kernel tests (selection, plans, merges): the devices they run
// on (every backend plus the GPU simulator, which runs the one-channel-per-index GPU code on the CPU)
// and random selections and plans, built on the host so a test states exactly what it feeds in.
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public static class TokenPlanFixtures
{
    /// <summary>(B, T, K): K tokens kept by score beside CLS, T − 1 − K dropped (one at least).</summary>
    public static readonly (int B, int T, int K)[] Splits = [(1, 3, 1), (2, 7, 3), (3, 31, 15), (2, 33, 1), (2, 197, 98), (1, 32, 30)];

    /// <summary>Runs a plan builder on outputs prefilled with junk (so a token it forgets to write shows); returns them.</summary>
    public static (int[] Destination, float[] Weight) RunPlan(Device device, int batch, int tokens, Action<Tensor<int>, Tensor<float>> fill)
    {
        using var destination = Tensor<int>.FromArray(device, Enumerable.Repeat(-99, batch * tokens).ToArray(), batch, tokens);
        using var weight = device.FromArray(Enumerable.Repeat(float.NaN, batch * tokens).ToArray(), batch, tokens);
        fill(destination, weight);
        return (destination.ToArray(), weight.ToArray());
    }

    /// <summary>Top k of values (distinct by construction) as a set of indices, ties to the lower index.</summary>
    public static HashSet<int> TopIndices(IReadOnlyList<double> values, int k) =>
        Enumerable.Range(0, values.Count).OrderByDescending(i => values[i]).ThenBy(i => i).Take(k).ToHashSet();

    /// <summary>The float64 cosine of rows u and v of x (rows of c), norms floored at <paramref name="floor"/>.</summary>
    public static double Cosine(float[] x, int u, int v, int c, double floor)
    {
        double dot = 0, nu = 0, nv = 0;
        for (int e = 0; e < c; e++)
        {
            dot += (double)x[u * c + e] * x[v * c + e];
            nu += (double)x[u * c + e] * x[u * c + e];
            nv += (double)x[v * c + e] * x[v * c + e];
        }
        return dot / (Math.Max(Math.Sqrt(nu), floor) * Math.Max(Math.Sqrt(nv), floor));
    }

    /// <summary>Every backend, and the GPU simulator (GPU code path, span 1, on the CPU).</summary>
    public static TheoryData<string> Devices => Backends.AllAndSimulator;

    /// <summary>The device of a name in <see cref="Devices"/>, or a skip when that backend is absent.</summary>
    public static Device Get(string name) => Backends.Get(name);

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
