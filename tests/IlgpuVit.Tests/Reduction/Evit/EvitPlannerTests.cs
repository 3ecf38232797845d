// EViT against a float64 reference of docs/methods.md's formula (method 4): the kept tokens by CLS score in
// token order, then one fused token Σ score_j x_j over the dropped ones (forward, and with the selection
// held fixed, gradients by finite differences); the fused token counts toward the tokens kept.
using FluentAssertions;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Tests.Support;
using static IlgpuVit.Tests.Autodiff.GradCheck;
using static IlgpuVit.Tests.Reduction.TopKReference;

namespace IlgpuVit.Tests.Reduction.Evit;

public class EvitPlannerTests
{
    [Theory]
    [InlineData(1, 5, 3, 1, "rate=0.5")]
    [InlineData(2, 7, 5, 2, "rate=0.3")]
    [InlineData(3, 33, 31, 3, "rate=0.25")]
    [InlineData(2, 17, 8, 2, "keep=0.5@0")]
    public void Evit_fuses_the_dropped_tokens_weighted_by_score(int batch, int tokens, int channels, int heads, string rate)
    {
        var spec = ReductionSpec.Parse("evit:" + rate)!;
        var reducer = new TokenReduction(spec, depth: 1);
        int removed = spec.Rate.Removed(0, tokens), keep = Math.Max(1, tokens - 2 - removed);
        var p = TestData.Uniform(9, batch * heads * tokens * tokens, 1f).Select(Math.Abs).ToArray();
        using var probabilities = Backends.Cpu.FromArray(p, batch, heads, tokens, tokens);
        Run(Backends.Cpu, [In(1, 1f, batch, tokens, channels)], (t, v) => ReduceOnce(reducer, t, v[0], probabilities, new TokenState()), x =>
        {
            var y = new List<double>();
            for (int b = 0; b < batch; b++)
            {
                var scores = ClsScores(p, b, heads, tokens);
                var (kept, dropped) = Select(scores, keep);
                foreach (int j in kept.Prepend(0)) y.AddRange(x[0].Skip((b * tokens + j) * channels).Take(channels));
                y.AddRange(Enumerable.Range(0, channels).Select(e => dropped.Sum(j => scores[j - 1] * x[0][(b * tokens + j) * channels + e])));
            }
            y.Count.Should().Be(batch * (tokens - removed) * channels, "the fused token counts toward the tokens kept");
            return y.ToArray();
        });
    }
}
