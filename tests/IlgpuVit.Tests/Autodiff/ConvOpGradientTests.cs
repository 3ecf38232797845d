// The convolution-family tape ops of the Hybrid ViT: forward against float64 and every gradient
// against finite differences (GradCheck), on odd shapes.
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Kernels.Convolution;
using IlgpuVit.Tests.Support;
using static IlgpuVit.Tests.Autodiff.GradCheck;

namespace IlgpuVit.Tests.Autodiff;

public class ConvOpGradientTests
{
    private static Device Cpu => Backends.Cpu;

    [Theory]
    [InlineData(1, 3, 7, 9, 4, 3, 2, true)]
    [InlineData(2, 2, 5, 5, 3, 1, 1, false)]
    [InlineData(1, 2, 6, 7, 2, 7, 2, true)]
    [InlineData(2, 3, 4, 5, 2, 3, 1, false)]
    public void Conv2d_with_bias(int b, int c, int h, int w, int cout, int k, int s, bool same)
    {
        var padding = same ? Padding2d.Same(h, w, k, k, s) : Padding2d.None;
        var g = new Conv2dGeometry(b, c, h, w, k, k, s, padding);
        Run(Cpu, [In(1, 1f, b, c, h, w), In(2, 0.5f, cout, c, k, k), In(3, 1f, cout)],
            (t, v) => t.Conv2d(v[0], v[1], v[2], s, padding),
            x => ConvReference.Conv2d(x[0], x[1], x[2], g, cout));
    }

    [Theory]
    [InlineData(1, 2, 1, 1, 1)]
    [InlineData(2, 6, 3, 5, 3)]
    [InlineData(1, 8, 7, 9, 2)]
    [InlineData(2, 4, 2, 2, 4)]
    public void GroupNorm(int b, int c, int h, int w, int groups) =>
        Run(Cpu, [In(1, 2f, b, c, h, w), In(2, 1f, c), In(3, 1f, c)],
            (t, v) => t.GroupNorm(v[0], v[1], v[2], groups),
            x => ConvReference.GroupNorm(x[0], x[1], x[2], b, c, groups));

    [Theory]
    [InlineData(1)]
    [InlineData(197)]
    public void Relu(int n)
    {
        // Keep every value away from the kink at 0, where finite differences are meaningless.
        var x = TestData.Uniform(1, n, 2f).Select(v => v + MathF.CopySign(0.1f, v)).ToArray();
        Run(Cpu, [new Input(x, [n])], (t, v) => t.Relu(v[0]), x => x[0].Select(v => Math.Max(v, 0)).ToArray());
    }

    [Theory]
    [InlineData(1, 1, 7, 9, 3, 2, true)]
    [InlineData(2, 3, 8, 8, 3, 2, true)]
    [InlineData(1, 2, 5, 6, 2, 1, false)]
    public void MaxPool2d(int b, int c, int h, int w, int k, int s, bool same)
    {
        var padding = same ? Padding2d.Same(h, w, k, k, s) : Padding2d.None;
        var g = new Conv2dGeometry(b, c, h, w, k, k, s, padding);
        Run(Cpu, [In(1, 1f, b, c, h, w)], (t, v) => t.MaxPool2d(v[0], k, s, padding), x => ConvReference.MaxPool2d(x[0], g).Y);
    }

    [Theory]
    [InlineData(4, 3, 3, 3)]
    [InlineData(1, 1, 7, 7)]
    [InlineData(5, 33, 1, 1)]
    public void StandardizeWeight_passes_gradients_to_the_raw_weight(int cout, int cin, int kh, int kw) =>
        Run(Cpu, [In(1, 0.3f, cout, cin, kh, kw)], (t, v) => t.StandardizeWeight(v[0]), x => ConvReference.StandardizeWeight(x[0], cout),
            rtol: 5e-3, atol: 5e-4);

    [Fact]
    public void A_standardised_weight_feeds_a_convolution()
    {
        // The R26 pattern: conv2d(x, standardise(w)) with SAME padding, gradients to x and the raw w.
        var padding = Padding2d.Same(7, 9, 3, 3, 2);
        var g = new Conv2dGeometry(1, 3, 7, 9, 3, 3, 2, padding);
        Run(Cpu, [In(1, 1f, 1, 3, 7, 9), In(2, 0.5f, 4, 3, 3, 3)],
            (t, v) => t.Conv2d(v[0], t.StandardizeWeight(v[1]), null, 2, padding),
            x => ConvReference.Conv2d(x[0], ConvReference.StandardizeWeight(x[1], 4), null, g, 4), rtol: 5e-3, atol: 5e-4);
    }
}
