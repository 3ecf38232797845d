// Ops.SplitAlternate (src/IlgpuVit/Kernels/TokenReduction/SplitAlternate.cs): ToMe's bipartite split, even rows to A
// (CLS first) and odd rows to B, for odd and even token counts. A copy, so the check is exact.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public class SplitAlternateTests
{
    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Even_rows_go_to_a_and_odd_rows_to_b_exactly(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, channels) in new[] { (1, 2, 1), (2, 3, 7), (3, 7, 33), (2, 31, 31), (2, 32, 32), (1, 33, 64), (2, 197, 7) })
        {
            int a = (tokens + 1) / 2, b = tokens / 2;
            var x = TestData.Uniform(tokens + channels, batch * tokens * channels);
            var even = new double[batch * a * channels];
            var odd = new double[batch * b * channels];
            for (int i = 0; i < batch; i++)
                for (int t = 0; t < tokens; t++)
                    for (int c = 0; c < channels; c++)
                        (t % 2 == 0 ? even : odd)[(i * (t % 2 == 0 ? a : b) + t / 2) * channels + c] = x[(i * tokens + t) * channels + c];
            using var tx = device.FromArray(x, batch, tokens, channels);
            using var ta = device.FromArray(TestData.Uniform(2, batch * a * channels, 9f), batch, a, channels);
            using var tb = device.FromArray(TestData.Uniform(3, batch * b * channels, 9f), batch, b, channels);
            Ops.SplitAlternate(tx, ta, tb);
            Check.Close(ta.ToArray(), even, 0, 0, $"A ({batch}, {tokens}, {channels})");
            Check.Close(tb.ToArray(), odd, 0, 0, $"B ({batch}, {tokens}, {channels})");
        }
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(2, 7, 3);
        using var even = device.Zeros(2, 4, 3);
        using var odd = device.Zeros(2, 3, 3);
        using var wrongOdd = device.Zeros(2, 4, 3);
        using var single = device.Zeros(2, 1, 3);
        var badOdd = () => Ops.SplitAlternate(x, even, wrongOdd);
        badOdd.Should().Throw<ShapeMismatchException>().WithMessage("SplitAlternate: odd has shape (2, 4, 3), expected (2, 3, 3).");
        var badEven = () => Ops.SplitAlternate(x, odd, odd);
        badEven.Should().Throw<ShapeMismatchException>().WithMessage("SplitAlternate: even has shape (2, 3, 3), expected (2, 4, 3).");
        var oneToken = () => Ops.SplitAlternate(single, even, odd);
        oneToken.Should().Throw<ShapeMismatchException>().WithMessage("SplitAlternate: x has shape (2, 1, 3); it needs (B, T, C) with T ≥ 2.");
    }
}
