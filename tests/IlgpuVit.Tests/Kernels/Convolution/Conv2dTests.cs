// Conv2d forward and backward kernels against float64 loops from the definition, on odd shapes,
// kernels 1/3/7, strides 1/2, TF SAME and asymmetric explicit padding, on the CPU fast path and
// on the GPU simulator (GEMM's tiled path and one row per index); plus the SAME padding rule and the
// error messages.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Convolution;

public class Conv2dTests
{
    /// <summary>(B, C, H, W, Cout, k, stride, padding: "same", "none" or explicit "t,b,l,r").</summary>
    public static TheoryData<int, int, int, int, int, int, int, string> Cases => new()
    {
        { 1, 3, 7, 9, 4, 3, 1, "same" },
        { 1, 3, 7, 9, 5, 3, 2, "same" },
        { 2, 3, 13, 11, 8, 7, 2, "same" },
        { 2, 5, 7, 9, 6, 1, 1, "none" },      // pointwise: no im2col
        { 1, 4, 9, 7, 3, 1, 2, "same" },      // the downsample shortcut: 1x1 stride 2
        { 1, 2, 8, 8, 3, 3, 2, "0,1,2,0" },   // asymmetric explicit padding
        { 3, 1, 1, 1, 1, 1, 1, "none" },
        { 1, 33, 5, 6, 31, 3, 1, "1,1,1,1" },
    };

    private static Padding2d Parse(string padding, int h, int w, int k, int s) => padding switch
    {
        "same" => Padding2d.Same(h, w, k, k, s),
        "none" => Padding2d.None,
        _ => padding.Split(',').Select(int.Parse).ToArray() is [var t, var b, var l, var r] ? new(t, b, l, r) : throw new ArgumentException(padding),
    };

    [Theory]
    [InlineData(224, 7, 2, 2, 3)]   // the R26 stem: 112 outputs
    [InlineData(7, 3, 2, 1, 1)]
    [InlineData(8, 3, 2, 0, 1)]     // odd total: the extra goes after
    [InlineData(9, 1, 2, 0, 0)]
    [InlineData(5, 3, 1, 1, 1)]
    [InlineData(1, 7, 1, 3, 3)]
    public void Same_padding_follows_TensorFlow(int size, int k, int stride, int before, int after)
    {
        var p = Padding2d.Same(size, size + 1, k, k, stride);
        (p.Top, p.Bottom).Should().Be((before, after));
        var g = new Conv2dGeometry(1, 1, size, size, k, k, stride, p);
        g.OutHeight.Should().Be((size + stride - 1) / stride, "SAME keeps ceil(H / s) rows");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_and_backward_match_float64_on_cpu(int b, int c, int h, int w, int cout, int k, int s, string padding) =>
        CheckOn(Backends.Cpu, b, c, h, w, cout, k, s, Parse(padding, h, w, k, s));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_and_backward_match_float64_on_the_gpu_simulator(int b, int c, int h, int w, int cout, int k, int s, string padding) =>
        CheckOn(Backends.GpuSimulator, b, c, h, w, cout, k, s, Parse(padding, h, w, k, s));

    private static void CheckOn(Device device, int b, int c, int h, int w, int cout, int k, int s, Padding2d padding)
    {
        var g = new Conv2dGeometry(b, c, h, w, k, k, s, padding);
        var x = TestData.Uniform(1, b * c * h * w);
        var wt = TestData.Uniform(2, cout * c * k * k, 0.5f);
        var bias = TestData.Uniform(3, cout);
        var dy = TestData.Uniform(4, b * cout * g.OutPixels);
        using var tx = device.FromArray(x, b, c, h, w);
        using var tw = device.FromArray(wt, cout, c, k, k);
        using var tb = device.FromArray(bias, cout);
        using var ty = device.Zeros(b, cout, g.OutHeight, g.OutWidth);
        Ops.Conv2d(tx, tw, tb, ty, s, padding);
        Check.Close(ty.ToArray(), ConvReference.Conv2d(x.ToDouble(), wt.ToDouble(), bias.ToDouble(), g, cout), 1e-5, 1e-5, "y");

        var (dx, dw, db) = ConvReference.Conv2dBackward(dy.ToDouble(), x.ToDouble(), wt.ToDouble(), g, cout);
        using var tdy = device.FromArray(dy, b, cout, g.OutHeight, g.OutWidth);
        // dx overwrites garbage; dW and db add to what they hold (ones).
        using var tdx = device.FromArray(Enumerable.Repeat(9f, x.Length).ToArray(), b, c, h, w);
        using var tdw = device.FromArray(Enumerable.Repeat(1f, wt.Length).ToArray(), cout, c, k, k);
        using var tdb = device.FromArray(Enumerable.Repeat(1f, cout).ToArray(), cout);
        Ops.Conv2dBackward(tdy, tx, tw, s, padding, tdx, tdw, tdb);
        Check.Close(tdx.ToArray(), dx, 1e-5, 1e-5, "dx");
        Check.Close(tdw.ToArray(), dw.Select(v => v + 1).ToArray(), 1e-5, 1e-5, "dW");
        Check.Close(tdb.ToArray(), db.Select(v => v + 1).ToArray(), 1e-5, 1e-5, "db");

        // accumulateDx adds; accumulateParameters: false overwrites.
        Ops.Conv2dBackward(tdy, tx, tw, s, padding, tdx, tdw, tdb, accumulateDx: true, accumulateParameters: false);
        Check.Close(tdx.ToArray(), dx.Select(v => 2 * v).ToArray(), 1e-5, 1e-5, "dx accumulated");
        Check.Close(tdw.ToArray(), dw, 1e-5, 1e-5, "dW overwritten");
        Check.Close(tdb.ToArray(), db, 1e-5, 1e-5, "db overwritten");
    }

    [Fact]
    public void Col2Im_is_the_adjoint_of_Im2Col()
    {
        // <im2col(x), c> = <x, col2im(c)> for any x and c.
        var device = Backends.Cpu;
        var g = new Conv2dGeometry(2, 3, 7, 9, 3, 3, 2, Padding2d.Same(7, 9, 3, 3, 2));
        var x = TestData.Uniform(5, 2 * 3 * 7 * 9);
        var cols = TestData.Uniform(6, g.Batch * g.PatchLength * g.OutPixels);
        using var tx = device.FromArray(x, 2, 3, 7, 9);
        using var tc = device.FromArray(cols, g.Batch, g.PatchLength, g.OutPixels);
        using var unfolded = device.Zeros(g.Batch, g.PatchLength, g.OutPixels);
        using var folded = device.Zeros(2, 3, 7, 9);
        Ops.Im2Col(tx, unfolded, g);
        Ops.Col2Im(tc, folded, g);
        double left = unfolded.ToArray().Zip(cols, (a, c) => (double)a * c).Sum();
        double right = folded.ToArray().Zip(x, (a, c) => (double)a * c).Sum();
        left.Should().BeApproximately(right, 1e-4);
    }

    [Fact]
    public void Bad_shapes_get_messages_that_name_the_problem()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(1, 3, 7, 9);
        using var w = device.Zeros(4, 2, 3, 3);
        using var y = device.Zeros(1, 4, 7, 9);
        FluentActions.Invoking(() => Ops.Conv2d(x, w, null, y, 1, Padding2d.Symmetric(1)))
            .Should().Throw<ShapeMismatchException>().WithMessage("*takes 2 input channels*has 3*");
        using var w3 = device.Zeros(4, 3, 3, 3);
        FluentActions.Invoking(() => Ops.Conv2d(x, w3, null, y, 1, Padding2d.Symmetric(3)))
            .Should().Throw<ShapeMismatchException>().WithMessage("*padding*smaller than the 3x3 window*");
        FluentActions.Invoking(() => Ops.Conv2d(x, w3, null, y, 2, Padding2d.Symmetric(1)))
            .Should().Throw<ShapeMismatchException>().WithMessage("*y*");
        FluentActions.Invoking(() => Padding2d.Same(0, 5, 3, 3, 1)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
