// Top-K pruning inside the model: the token count of every layer follows the rate (and is what FLOPs
// are counted from), the kept tokens are the highest-scoring ones in original order, rate 0 is the
// unpruned model exactly, and a model reduced by Top-K trains.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using IlgpuVit.Tests.Training;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Reduction.TopK;

public class TopKPlannerTests
{
    private static readonly VitConfig Config = new("topk-test", 16, 4, 3, 16, 3, 2, 32, 5);   // 16 patches + CLS

    private static float[] Logits(VisionTransformer model, Tensor<float> images, TokenState? state = null)
    {
        using var tape = Tape.NoGrad();
        return model.Forward(tape, images, state).Value.ToArray();
    }

    [Fact]
    public void Token_counts_follow_the_rate_and_feed_the_flops_counter()
    {
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 1);
        var rate = ReductionRate.Parse("rate=0.25");
        new ReductionSpec(new TopKPlanner(), rate).Apply(model);
        using var images = Backends.Cpu.FromArray(TestData.Uniform(2, 3 * 3 * 16 * 16), 3, 3, 16, 16);
        var state = new TokenState();
        Logits(model, images, state);
        state.TokensAfterLayer.Should().Equal(rate.TokensAfterEachLayer(Config.Depth, Config.Tokens)).And.Equal(13, 10, 7);
        var before = state.TokensAfterLayer.Prepend(Config.Tokens).Take(Config.Depth).ToArray();
        Flops.Macs(Config, before, state.TokensAfterLayer).Should().Be(Flops.Macs(Config, rate));
    }

    [Fact]
    public void Rate_zero_is_the_unpruned_model_exactly()
    {
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 1);
        using var images = Backends.Cpu.FromArray(TestData.Uniform(2, 2 * 3 * 16 * 16), 2, 3, 16, 16);
        var plain = Logits(model, images);
        new ReductionSpec(new TopKPlanner(), new PruningRate(0)).Apply(model);
        Logits(model, images).Should().Equal(plain);
    }

    [Fact]
    public void The_kept_tokens_are_the_top_scored_ones_in_original_order()
    {
        var device = Backends.Cpu;
        using var block = new Block(device, 0, 16, 2, 32, 1e-6f, new Random(4));
        block.Reducer = new TokenReduction(new ReductionSpec(new TopKPlanner(), new PruningRate(0.5)), depth: 1);
        int b = 2, t = 9;
        var x = TestData.Uniform(3, b * t * 16);
        using var input = new Variable(device.FromArray(x, b, t, 16));
        using var tape = Tape.NoGrad();
        // The block's own attention, then the expected selection on the host.
        var attention = block.Attn.Forward(tape, block.Norm1.Forward(tape, input), input, keep: AttentionExtras.ClsAttention);
        attention.RequireClsAttention().Shape.Should().Be(new Shape(b, 2, 1, t));
        var p = attention.RequireClsAttention().ToArray();
        var residual = attention.Output.Value.ToArray();
        var expectedRows = new List<float>();
        for (int i = 0; i < b; i++)
        {
            var score = Enumerable.Range(1, t - 1).Select(j => (j, s: (p[(i * 2) * t + j] + p[(i * 2 + 1) * t + j]) / 2)).ToArray();
            var keep = score.OrderByDescending(e => e.s).ThenBy(e => e.j).Take(4).Select(e => e.j).Order().Prepend(0);
            foreach (var j in keep) expectedRows.AddRange(residual.AsSpan((i * t + j) * 16, 16).ToArray());
        }
        var state = new TokenState();
        var reduced = block.Reducer.Reduce(tape, attention.Output, new ReductionContext(0, attention, state));
        reduced.Shape.Should().Be(new Shape(b, 5, 16));
        reduced.Value.ToArray().Should().Equal(expectedRows);
    }

    [Fact]
    public void A_model_with_top_k_reducers_trains()
    {
        using var trainer = TinyRun.Trainer(Backends.Cpu, out var model, TinyRun.Options() with { Epochs = 6 });
        using (model)
        {
            ReductionSpec.Parse("topk:rate=0.3")!.Apply(model);
            var losses = new List<float>();
            while (!trainer.Finished) losses.AddRange(trainer.RunEpoch().Select(s => s.Loss));
            losses.Should().OnlyContain(l => float.IsFinite(l));
            losses.TakeLast(4).Average().Should().BeLessThan(losses.Take(4).Average());
        }
    }
}
