// EViT and eTPS against float64 references of methods.md's formulas (forward and, with the selection
// held fixed, gradients by finite differences), and the invariants every method shares: rate 0 is the
// unpruned model, every image keeps the same count, merge methods conserve the sizes, and each method
// trains (the loss falls with gradients through the kept and merged tokens).
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Training;
using IlgpuVit.Tests.Support;
using static IlgpuVit.Tests.Autodiff.GradCheck;

namespace IlgpuVit.Tests.Reduction;

public class MergeReducerTests
{
    private static readonly VitConfig Config = new("merge-test", 16, 4, 3, 16, 2, 2, 32, 3);   // 16 patches + CLS

    public static TheoryData<string> Methods => new() { "topk", "topk-vpa", "evit", "etps", "tome" };

    /// <summary>Top-K selection of one image in float64 terms: kept tokens (token order, CLS excluded) and dropped ones.</summary>
    private static (int[] Kept, int[] Dropped) Select(double[] scores, int keep)
    {
        var kept = Enumerable.Range(1, scores.Length).OrderByDescending(j => scores[j - 1]).ThenBy(j => j).Take(keep).Order().ToArray();
        return (kept, Enumerable.Range(1, scores.Length).Except(kept).ToArray());
    }

    private static double[] ClsScores(float[] p, int b, int heads, int t) =>
        Enumerable.Range(1, t - 1).Select(j => Enumerable.Range(0, heads).Average(h => (double)p[((b * heads + h) * t) * t + j])).ToArray();

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

    private static Variable ReduceOnce(ITokenReducer reducer, Tape tape, Variable x, Tensor<float> probabilities, TokenState state) =>
        reducer.Reduce(tape, x, new ReductionContext(0, new AttentionOutput(x, x, probabilities), state));

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

    private static (float[] Logits, TokenState State, float[] Sizes) Forward(VisionTransformer model, string spec)
    {
        ReductionMethod.Apply(model, spec);
        using var images = Backends.Cpu.FromArray(TestData.Uniform(2, 3 * 3 * 16 * 16), 3, 3, 16, 16);
        using var tape = Tape.NoGrad();
        var state = new TokenState();
        var logits = model.Forward(tape, images, state).Value.ToArray();
        return (logits, state, state.Sizes?.ToArray() ?? []);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Rate_zero_is_the_unpruned_model(string method)
    {
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 1);
        Forward(model, method + ":rate=0").Logits.Should().Equal(Forward(model, "none").Logits);
    }

    [Theory]
    [InlineData("evit:rate=0.3", new[] { 12, 8 })]
    [InlineData("etps:rate=0.3", new[] { 12, 8 })]
    [InlineData("tome:r=5", new[] { 12, 7 })]
    [InlineData("tome:rate=0.3", new[] { 12, 8 })]
    public void Merge_methods_conserve_the_sizes_of_every_image(string spec, int[] counts)
    {
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 1);
        var (_, state, sizes) = Forward(model, spec);
        state.TokensAfterLayer.Should().Equal(counts);
        int last = counts[^1];
        sizes.Should().HaveCount(3 * last);
        for (int b = 0; b < 3; b++) sizes.AsSpan(b * last, last).ToArray().Sum().Should().BeApproximately(17f, 1e-4f);
        sizes[0].Should().Be(1f, "CLS stands for itself alone");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_method_trains_with_gradients_through_the_kept_and_merged_tokens(string method)
    {
        var random = new Random(5);
        var labels = Enumerable.Range(0, 96).Select(i => i % 3).ToArray();
        var pixels = new byte[96 * 3 * 256];
        for (int i = 0; i < 96; i++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 256; p++) pixels[(i * 3 + c) * 256 + p] = (byte)(random.Next(100) + (labels[i] == c ? 120 : 0));
        var options = new TrainingOptions { Epochs = 3, BatchSize = 16, LearningRate = 5e-3f, WarmupEpochs = 0.5f, Seed = 3, CropPadding = 0, HorizontalFlip = false };
        using var model = new VisionTransformer(Config, Backends.Cpu, options.Seed);
        ReductionMethod.Apply(model, method + ":rate=0.3");
        using var trainer = new Trainer(model, new ImageDataset(pixels, labels, 3, 16, 16, 3), options, Normalization.Identity(3));
        var losses = new List<float>();
        while (!trainer.Finished) losses.AddRange(trainer.RunEpoch().Select(s => s.Loss));
        losses.Should().OnlyContain(l => float.IsFinite(l));
        losses.TakeLast(6).Average().Should().BeLessThan(losses.Take(6).Average() * 0.7f, $"{method} must learn");
        model.Parameters().Should().OnlyContain(p => p.Grad != null && p.Grad.ToArray().Any(g => g != 0f), "every parameter gets a gradient");
    }
}
