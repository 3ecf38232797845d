using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels;

public class TokenSelectionTests
{
    public static TheoryData<string> Devices => new() { "cpu", "cuda", "opencl", "simulator" };

    private static Device Get(string name) => name == "simulator" ? Backends.GpuSimulator : Backends.Get(name);

    [SkippableTheory]
    [MemberData(nameof(Devices))]
    public void Cls_attention_score_is_the_head_mean_of_the_cls_row(string backend)
    {
        var device = Get(backend);
        foreach (var (b, h, t) in new[] { (1, 1, 2), (3, 3, 7), (2, 6, 197), (4, 4, 50) })
        {
            var p = TestData.Uniform(b * h + t, b * h * t * t);
            var expected = new double[b * (t - 1)];
            for (int i = 0; i < b; i++)
                for (int j = 1; j < t; j++)
                    for (int k = 0; k < h; k++) expected[i * (t - 1) + j - 1] += p[((i * h + k) * t) * t + j] / (double)h;
            using var tp = device.FromArray(p, b, h, t, t);
            using var scores = device.Zeros(b, t - 1);
            Ops.ClsAttentionScore(tp, scores);
            Check.Close(scores.ToArray(), expected, 1e-6, 1e-7, $"scores ({b}, {h}, {t})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Devices))]
    public void Kept_index_is_cls_then_the_selected_tokens_in_order(string backend)
    {
        var device = Get(backend);
        int[] selected = [4, 0, 2, /* row 2 */ 1, 5, 3];
        using var ts = Tensor<int>.FromArray(device, selected, 2, 3);
        using var mask = Tensor<int>.Zeros(device, 2, 7);
        using var kept = Tensor<int>.Zeros(device, 2, 4);
        Ops.KeptTokenIndex(ts, mask, kept);
        kept.ToArray().Should().Equal(0, 1, 3, 5, /* row 2 */ 0, 2, 4, 6);
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var p = device.Zeros(2, 3, 5, 5);
        using var wrong = device.Zeros(2, 5);
        var act = () => Ops.ClsAttentionScore(p, wrong);
        act.Should().Throw<ShapeMismatchException>().WithMessage("ClsAttentionScore: scores has shape (2, 5), expected (2, 4).");
        using var selected = Tensor<int>.Zeros(device, 2, 5);
        using var mask = Tensor<int>.Zeros(device, 2, 5);
        using var kept = Tensor<int>.Zeros(device, 2, 6);
        var act2 = () => Ops.KeptTokenIndex(selected, mask, kept);
        act2.Should().Throw<ShapeMismatchException>().WithMessage("*K < T*");
    }
}
