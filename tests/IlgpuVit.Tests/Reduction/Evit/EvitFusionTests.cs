// EViT's plan builder (src/IlgpuVit/Reduction/Evit/EvitFusion.cs) against the plan its header defines:
// the kept rows go on with weight 1, every dropped token joins the last row with its score as weight.
// Plan outputs are prefilled with junk, so a token the kernel forgets to write shows.
using FluentAssertions;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Kernels.TokenReduction;
using IlgpuVit.Tests.Support;
using static IlgpuVit.Tests.Kernels.TokenReduction.TokenPlanFixtures;

namespace IlgpuVit.Tests.Reduction.Evit;

public class EvitFusionTests
{
    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Evit_keeps_the_kept_rows_and_fuses_the_dropped_by_score_into_the_last(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, keep) in Splits)
        {
            int k1 = keep + 1, d = tokens - k1;
            var (kept, dropped) = TokenPlanFixtures.Split(tokens * 3 + keep, batch, tokens, keep);
            var scores = TokenPlanFixtures.Positive(tokens, batch * (tokens - 1), 0f, 1f);
            using var tk = Tensor<int>.FromArray(device, kept, batch, k1);
            using var td = Tensor<int>.FromArray(device, dropped, batch, d);
            using var ts = device.FromArray(scores, batch, tokens - 1);
            var (destination, weight) = RunPlan(device, batch, tokens, (dst, w) => EvitFusion.EvitPlan(tk, td, ts, dst, w));
            var expectedDestination = new int[batch * tokens];
            var expectedWeight = new double[batch * tokens];
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < k1; i++) (expectedDestination[b * tokens + kept[b * k1 + i]], expectedWeight[b * tokens + kept[b * k1 + i]]) = (i, 1);
                foreach (int j in dropped.AsSpan(b * d, d)) (expectedDestination[b * tokens + j], expectedWeight[b * tokens + j]) = (k1, scores[b * (tokens - 1) + j - 1]);
            }
            Check.Equal(destination, expectedDestination, $"destination ({batch}, {tokens}, {keep})");
            Check.Close(weight, expectedWeight, 0, 0, $"weight ({batch}, {tokens}, {keep})");
        }
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var kept = Tensor<int>.Zeros(device, 2, 3);
        using var dropped = Tensor<int>.Zeros(device, 2, 4);
        using var wrongDropped = Tensor<int>.Zeros(device, 2, 3);
        using var scores = device.Zeros(2, 6);
        using var wrongScores = device.Zeros(2, 7);
        using var destination = Tensor<int>.Zeros(device, 2, 7);
        using var weight = device.Zeros(2, 7);

        var badScores = () => EvitFusion.EvitPlan(kept, dropped, wrongScores, destination, weight);
        badScores.Should().Throw<ShapeMismatchException>().WithMessage("EvitPlan: scores has shape (2, 7), expected (2, 6).");
        var badDropped = () => EvitFusion.EvitPlan(kept, wrongDropped, scores, destination, weight);
        badDropped.Should().Throw<ShapeMismatchException>().WithMessage("EvitPlan: dropped has shape (2, 3), expected (2, 4).");
    }
}
