// eTPS against a float64 reference of docs/methods.md's formula (method 5): each pruned token squeezed into
// its most cosine-similar reserved token with weight exp(cos / tau) against the host's e (forward, and
// with the selection held fixed, gradients by finite differences), and the MACs of the host search.
using FluentAssertions;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Tests.Support;
using static IlgpuVit.Tests.Autodiff.GradCheck;
using static IlgpuVit.Tests.Reduction.TopKReference;

namespace IlgpuVit.Tests.Reduction.Etps;

public class EtpsPlannerTests
{
    private static double Cosine(double[] x, int c, int row1, int row2)
    {
        double dot = 0, n1 = 0, n2 = 0;
        for (int e = 0; e < c; e++)
        {
            dot += x[row1 * c + e] * x[row2 * c + e];
            n1 += x[row1 * c + e] * x[row1 * c + e];
            n2 += x[row2 * c + e] * x[row2 * c + e];
        }
        return dot / (Math.Sqrt(n1) * Math.Sqrt(n2));
    }

    [Theory]
    [InlineData(1, 5, 3, 1, 1f)]
    [InlineData(2, 7, 5, 2, 1f)]
    [InlineData(3, 33, 31, 3, 0.5f)]
    [InlineData(2, 50, 16, 4, 2f)]
    public void Etps_squeezes_each_pruned_token_into_its_most_similar_reserved_token(int batch, int tokens, int channels, int heads, float tau)
    {
        var reducer = new TokenReduction(new ReductionSpec(new EtpsPlanner(tau), new PruningRate(0.4)), depth: 1);
        int keep = tokens - 1 - reducer.Rate.Removed(0, tokens);
        var p = TestData.Uniform(9, batch * heads * tokens * tokens, 1f).Select(Math.Abs).ToArray();
        var x0 = TestData.Uniform(1, batch * tokens * channels).ToDouble();
        using var probabilities = Backends.Cpu.FromArray(p, batch, heads, tokens, tokens);
        // Hosts and squeeze weights come from the unperturbed tokens: the selection is a constant for autodiff.
        var plan = new List<(int[] Kept, int[] Dropped, int[] Host, double[] Weight)>();
        for (int b = 0; b < batch; b++)
        {
            var (kept, dropped) = Select(ClsScores(p, b, heads, tokens), keep);
            var host = dropped.Select(j => kept.OrderByDescending(i => Cosine(x0, channels, b * tokens + j, b * tokens + i)).First()).ToArray();
            var weight = dropped.Select((j, n) => Math.Exp(Cosine(x0, channels, b * tokens + j, b * tokens + host[n]) / tau)).ToArray();
            plan.Add((kept, dropped, host, weight));
        }
        var state = new TokenState();
        Run(Backends.Cpu, [In(1, 1f, batch, tokens, channels)], (t, v) => ReduceOnce(reducer, t, v[0], probabilities, state), x =>
        {
            var y = new List<double>();
            for (int b = 0; b < batch; b++)
            {
                var (kept, dropped, host, weight) = plan[b];
                y.AddRange(x[0].Skip(b * tokens * channels).Take(channels));
                foreach (int i in kept)
                {
                    var guests = Enumerable.Range(0, dropped.Length).Where(n => host[n] == i).ToArray();
                    double total = Math.E + guests.Sum(n => weight[n]);
                    y.AddRange(Enumerable.Range(0, channels).Select(e =>
                        (Math.E * x[0][(b * tokens + i) * channels + e] + guests.Sum(n => weight[n] * x[0][(b * tokens + dropped[n]) * channels + e])) / total));
                }
            }
            return y.ToArray();
        });
        state.MethodMacs.Should().Be((double)(tokens - 1 - keep) * keep * channels, "the dots of every pruned token with every reserved non-CLS token, per image");
    }
}
