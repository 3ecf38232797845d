// 2-D convolution over NCHW images as torch.nn.functional.conv2d (cross-correlation, groups 1,
// dilation 1) after explicit padding, via im2col (Im2Col.cs) and one batched GEMM:
//   y_b (Cout, OH OW) = W (Cout, C k_h k_w) · columns_b (C k_h k_w, OH OW)  [+ bias per channel]
// Backward, mirrored:
//   dcolumns_b = Wᵀ · dy_b,   dx = col2im(dcolumns)            (a gather: deterministic)
//   dW += Σ_b dy_b · columns_bᵀ                                (one GEMM per image, accumulating)
//   db += Σ_{b, pixels} dy                                     (ChannelBias.cs)
// Gradient convention: parameter gradients (dW, db) ACCUMULATE unless told otherwise; dx is
// OVERWRITTEN unless accumulateDx. A 1x1 stride-1 unpadded convolution (most of a ResNet
// bottleneck) skips im2col: the images already are their columns. Otherwise the columns are a
// scratch tensor; the backward recomputes them from x rather than keeping them from the forward.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// y (B, Cout, OH, OW) = conv2d(<paramref name="x"/> (B, C, H, W), <paramref name="weight"/> (Cout, C, k_h, k_w))
    /// with <paramref name="stride"/> and explicit <paramref name="padding"/> (zeros), plus <paramref name="bias"/> (Cout)
    /// when given. OH = (H + top + bottom - k_h) / stride + 1, likewise OW.
    /// </summary>
    /// <example><code>Ops.Conv2d(x, w, null, y, 2, Padding2d.Same(224, 224, 7, 7, 2)); // timm StdConv2dSame stem</code></example>
    /// <exception cref="ShapeMismatchException">The shapes do not chain or the window does not fit.</exception>
    public static void Conv2d(Tensor<float> x, Tensor<float> weight, Tensor<float>? bias, Tensor<float> y, int stride, Padding2d padding)
    {
        const string op = "Conv2d";
        var device = OnOneDevice(op, x, weight, bias, y);
        var g = ConvGeometry(op, x, weight, stride, padding);
        int cout = weight.Shape[0];
        ShapeMismatchException.ThrowIfDifferent(op, "y", new Shape(g.Batch, cout, g.OutHeight, g.OutWidth), y.Shape);
        if (bias is not null) ShapeMismatchException.ThrowIfDifferent(op, "bias", new Shape(cout), bias.Shape);
        using var scratch = g.IsPointwise ? null : Tensor<float>.Empty(device, g.Batch, g.PatchLength, g.OutPixels);
        var columns = scratch ?? x;
        if (scratch is not null) Im2Col(x, scratch, g);
        int k = g.PatchLength, p = g.OutPixels;
        Gemm(g.Batch, 1, cout, p, k, weight, new MatrixLayout(0, k), columns, new MatrixLayout(0, p, k * p), y, new MatrixLayout(0, p, cout * p));
        if (bias is not null) AddChannelBias(y, bias, y);
    }

    /// <summary>
    /// Gradients of <see cref="Conv2d"/> from <paramref name="dy"/> (B, Cout, OH, OW), the forward input
    /// <paramref name="x"/> and <paramref name="weight"/>. Each gradient is optional (null: not computed):
    /// <paramref name="dx"/> (x's shape) is overwritten, or added to with <paramref name="accumulateDx"/>;
    /// <paramref name="dweight"/> (weight's shape) and <paramref name="dbias"/> (Cout) are added to, or
    /// overwritten when <paramref name="accumulateParameters"/> is false. Deterministic.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A shape does not fit the forward's.</exception>
    public static void Conv2dBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> weight, int stride, Padding2d padding,
        Tensor<float>? dx, Tensor<float>? dweight, Tensor<float>? dbias, bool accumulateDx = false, bool accumulateParameters = true)
    {
        const string op = "Conv2dBackward";
        var device = OnOneDevice(op, dy, x, weight, dx, dweight, dbias);
        var g = ConvGeometry(op, x, weight, stride, padding);
        int cout = weight.Shape[0], k = g.PatchLength, p = g.OutPixels;
        ShapeMismatchException.ThrowIfDifferent(op, "dy", new Shape(g.Batch, cout, g.OutHeight, g.OutWidth), dy.Shape);
        if (dx is not null) ShapeMismatchException.ThrowIfDifferent(op, "dx", x.Shape, dx.Shape);
        if (dweight is not null) ShapeMismatchException.ThrowIfDifferent(op, "dweight", weight.Shape, dweight.Shape);
        if (dbias is not null) ShapeMismatchException.ThrowIfDifferent(op, "dbias", new Shape(cout), dbias.Shape);
        var dyLayout = new MatrixLayout(0, p, cout * p);
        var columnLayout = new MatrixLayout(0, p, k * p);

        if (dx is not null)
        {
            // dcolumns_b (K, P) = Wᵀ (K, Cout) · dy_b (Cout, P); W is stored (Cout, K).
            using var dcolumns = g.IsPointwise ? null : Tensor<float>.Empty(device, g.Batch, k, p);
            Gemm(g.Batch, 1, k, p, cout, weight, new MatrixLayout(0, k), dy, dyLayout, dcolumns ?? dx, columnLayout,
                new GemmOptions { TransposeA = true, Accumulate = dcolumns is null && accumulateDx });
            if (dcolumns is not null) Col2Im(dcolumns, dx, g, accumulateDx);
        }
        if (dweight is not null)
        {
            using var scratch = g.IsPointwise ? null : Tensor<float>.Empty(device, g.Batch, k, p);
            if (scratch is not null) Im2Col(x, scratch, g);
            var columns = scratch ?? x;
            // dW (Cout, K) += dy_b (Cout, P) · columns_bᵀ (P, K), image by image into one sum.
            for (int b = 0; b < g.Batch; b++)
                Gemm(1, 1, cout, k, p, dy, new MatrixLayout(b * cout * p, p), columns, new MatrixLayout(b * k * p, p), dweight, new MatrixLayout(0, k),
                    new GemmOptions { TransposeB = true, Accumulate = accumulateParameters || b > 0 });
        }
        if (dbias is not null) SumChannels(dy, dbias, accumulateParameters);
    }

    private static Conv2dGeometry ConvGeometry(string op, Tensor<float> x, Tensor<float> weight, int stride, Padding2d padding)
    {
        ShapeMismatchException.Require(weight.Shape.Rank == 4, op, $"weight has shape {weight.Shape}; it needs (Cout, Cin, kh, kw).");
        var g = Conv2dGeometry.Of(op, x.Shape, weight.Shape[2], weight.Shape[3], stride, padding);
        ShapeMismatchException.Require(weight.Shape[1] == g.Channels, op,
            $"weight {weight.Shape} takes {weight.Shape[1]} input channels; x {x.Shape} has {g.Channels}.");
        return g;
    }
}
