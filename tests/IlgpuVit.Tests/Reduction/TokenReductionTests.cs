// The applier (TokenReduction) with every method's planner inside a model: rate 0 is the unpruned
// model, every image keeps the same count, merge methods conserve the sizes, each method trains (the
// loss falls with gradients through the kept and merged tokens), and a rate set on the live reduction
// prunes exactly as the spec at that rate applied afresh.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Training;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Reduction;

public class TokenReductionTests
{
    private static readonly VitConfig Config = new("merge-test", 16, 4, 3, 16, 2, 2, 32, 3);   // 16 patches + CLS

    public static TheoryData<string> Methods => new(ReductionMethod.Methods);

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

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_rate_set_on_the_live_reduction_prunes_as_the_spec_at_that_rate(string method)
    {
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 1);
        var reduction = ReductionSpec.Parse(method + ":rate=0.1")!.Apply(model);
        model.Blocks.Should().OnlyContain(b => b.Reducer == reduction, "one applied reduction serves every block");
        reduction.SetPruningRate(0.3);
        reduction.Spec.ToString().Should().Be(method + ":rate=0.3");
        using var images = Backends.Cpu.FromArray(TestData.Uniform(2, 3 * 3 * 16 * 16), 3, 3, 16, 16);
        float[] Logits()
        {
            using var tape = Tape.NoGrad();
            return model.Forward(tape, images).Value.ToArray();
        }
        var live = Logits();
        ReductionMethod.Apply(model, method + ":rate=0.3");
        Logits().Should().Equal(live);
    }

    [Fact]
    public void Top_k_tracks_no_sizes_and_the_others_start_them_at_one_patch()
    {
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 1);
        Forward(model, "topk:rate=0.3").State.Sizes.Should().BeNull();
        Forward(model, "evit:keep=0.5@5").Sizes.Should().HaveCount(3 * 17).And.OnlyContain(s => s == 1f, "no block reduces: every token stands for its patch");
    }
}
