// The check values of docs/flops.md: unpruned GMACs of the timm ViTs, and ViT-L/16 with the paper's
// pruning rate under each rounding and with ToMe's r.
using FluentAssertions;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;

namespace IlgpuVit.Tests.Metrics;

public class FlopsTests
{
    [Theory]
    [InlineData("vit_tiny_patch16_224", 1.25)]
    [InlineData("vit_small_patch16_224", 4.60)]
    [InlineData("vit_base_patch16_224", 17.56)]
    [InlineData("vit_large_patch16_224", 61.55)]
    public void Unpruned_models_match_the_check_values(string model, double gmacs) =>
        (Flops.Macs(ModelRegistry.Get(model)) / 1e9).Should().BeApproximately(gmacs, 0.005);

    [Theory]
    [InlineData("rate=0.06", 39, -50.65)]
    [InlineData("rate=0.06,round=round", 45, -48.78)]
    [InlineData("rate=0.06,round=floor", 52, -46.37)]
    // docs/flops.md lists 5 tokens for r = 8 (197 - 24 x 8, unclamped); docs/methods.md and ToMe's code clamp r to
    // floor((N - 1) / 2), so the last layer (13 tokens) merges 6 and leaves 7. Both give -49.7%.
    [InlineData("r=8", 7, -49.7)]
    [InlineData("r=7", 29, -43.6)]
    public void ViT_L_with_reduction_matches_the_check_values(string spec, int lastTokens, double change)
    {
        var config = ModelRegistry.Get("vit_large_patch16_224");
        var rate = ReductionRate.Parse(spec);
        rate.TokensAfterEachLayer(config.Depth, config.Tokens)[^1].Should().Be(lastTokens);
        double percent = 100 * (Flops.Macs(config, rate) / Flops.Macs(config) - 1);
        percent.Should().BeApproximately(change, spec.StartsWith("r=") ? 0.1 : 0.005);
    }

    [Fact]
    public void Inconsistent_token_counts_are_refused()
    {
        var config = ModelRegistry.Get("vit_tiny_patch16_224");
        var act = () => Flops.Macs(config, [197], [197]);
        act.Should().Throw<ArgumentException>().WithMessage("*12 blocks*");
        var counts = Enumerable.Repeat(100, 12).ToArray();
        act = () => Flops.Macs(config, counts, counts.Select(c => c + 1).ToArray());
        act.Should().Throw<ArgumentException>().WithMessage("*block 0 hands on 101 tokens but received 100*");
    }
}
