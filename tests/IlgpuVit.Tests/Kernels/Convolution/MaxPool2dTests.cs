// MaxPool2d forward and backward kernels against float64 loops (values, winners, routed gradients)
// on the CPU and the GPU simulator; ties go to the first pixel; -inf padding never wins, even over
// all-negative inputs.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Convolution;

public class MaxPool2dTests
{
    public static TheoryData<string, int, int, int, int, int, int> Cases()
    {
        var data = new TheoryData<string, int, int, int, int, int, int>();
        foreach (var backend in new[] { "cpu", "simulator" })
            foreach (var (b, c, h, w, k, s) in new[] { (1, 3, 7, 9, 3, 2), (2, 2, 8, 8, 3, 2), (1, 1, 1, 1, 3, 2), (1, 33, 5, 6, 3, 1), (2, 4, 31, 33, 3, 2) })
                data.Add(backend, b, c, h, w, k, s);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_and_backward_match_float64(string backend, int b, int c, int h, int w, int k, int s)
    {
        var device = backend == "cpu" ? Backends.Cpu : Backends.GpuSimulator;
        var g = new Conv2dGeometry(b, c, h, w, k, k, s, Padding2d.Same(h, w, k, k, s));
        // All negative: a zero-padded pool would return 0 at the borders; -inf padding must not.
        var x = TestData.Uniform(1, b * c * h * w).Select(v => v - 2f).ToArray();
        var dy = TestData.Uniform(2, b * c * g.OutPixels);
        var (expected, winner) = ConvReference.MaxPool2d(x.ToDouble(), g);
        using var tx = device.FromArray(x, b, c, h, w);
        using var ty = device.Zeros(b, c, g.OutHeight, g.OutWidth);
        using var argmax = Tensor<int>.Zeros(device, b, c, g.OutHeight, g.OutWidth);
        Ops.MaxPool2d(tx, ty, argmax, g);
        Check.Close(ty.ToArray(), expected, 0, 0, "y");
        Check.Equal(argmax.ToArray(), winner.Select(i => i % (h * w)).ToArray(), "winners");

        var dx = new double[x.Length];
        for (int o = 0; o < dy.Length; o++) dx[winner[o]] += dy[o];
        using var tdy = device.FromArray(dy, b, c, g.OutHeight, g.OutWidth);
        using var tdx = device.FromArray(Enumerable.Repeat(5f, x.Length).ToArray(), b, c, h, w);
        Ops.MaxPool2dBackward(tdy, argmax, tdx, g);
        Check.Close(tdx.ToArray(), dx, 1e-6, 1e-6, "dx");
        Ops.MaxPool2dBackward(tdy, argmax, tdx, g, accumulate: true);
        Check.Close(tdx.ToArray(), dx.Select(v => 2 * v).ToArray(), 1e-6, 1e-6, "dx accumulated");
    }

    [Fact]
    public void Ties_go_to_the_first_pixel_of_the_window()
    {
        var device = Backends.Cpu;
        var g = new Conv2dGeometry(1, 1, 4, 4, 3, 3, 2, Padding2d.Same(4, 4, 3, 3, 2));   // padding (0, 1) each axis
        using var x = device.FromArray(Enumerable.Repeat(1f, 16).ToArray(), 1, 1, 4, 4);
        using var y = device.Zeros(1, 1, 2, 2);
        using var argmax = Tensor<int>.Zeros(device, 1, 1, 2, 2);
        Ops.MaxPool2d(x, y, argmax, g);
        argmax.ToArray().Should().Equal(0, 2, 8, 10);
    }

    [Fact]
    public void Bad_shapes_get_messages_that_name_the_problem()
    {
        var device = Backends.Cpu;
        var g = new Conv2dGeometry(1, 2, 7, 7, 3, 3, 2, Padding2d.Same(7, 7, 3, 3, 2));
        using var x = device.Zeros(1, 2, 7, 7);
        using var y = device.Zeros(1, 2, 3, 3);
        using var argmax = Tensor<int>.Zeros(device, 1, 2, 4, 4);
        FluentActions.Invoking(() => Ops.MaxPool2d(x, y, argmax, g)).Should().Throw<ShapeMismatchException>().WithMessage("*y*");
    }
}
