// The class token put in front of every image's patch tokens (ViT, Dosovitskiy et al. 2021):
//   y[b, 0, :] = cls,   y[b, 1 + p, :] = x[b, p, :]
// Backward: dx[b, p, :] = dy[b, 1 + p, :] (overwritten or added), dcls += Σ_b dy[b, 0, :].
// Once per forward, so one kernel index copies one row (CPU and GPU alike; ScaleRow by 1, exact) and the class
// token's gradient is one index per channel summing over the batch in order (deterministic).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>Prepends <paramref name="cls"/> (C) to each image of <paramref name="x"/> (B, P, C), giving <paramref name="y"/> (B, P + 1, C).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void PrependClassToken(Tensor<float> x, Tensor<float> cls, Tensor<float> y)
    {
        var (batch, patches, channels) = ClassTokenShapes("PrependClassToken", x, cls, y);
        var launch = x.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(PrependClassTokenKernel, group));
        launch(x.Device.Accelerator.DefaultStream, batch * (patches + 1), x.View, cls.View, y.View, patches, channels);
    }

    /// <summary>
    /// Backward of <see cref="PrependClassToken"/>: <paramref name="dx"/> (B, P, C) gets the patch rows of
    /// <paramref name="dy"/> (B, P + 1, C) (added when <paramref name="accumulateDx"/>), and
    /// <paramref name="dcls"/> (C) adds the sum of the class rows.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void PrependClassTokenBackward(Tensor<float> dy, Tensor<float> dx, Tensor<float> dcls, bool accumulateDx)
    {
        var (batch, patches, channels) = ClassTokenShapes("PrependClassTokenBackward", dx, dcls, dy);
        var rows = dx.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int, int>(ClassTokenPatchGradKernel, group));
        rows(dx.Device.Accelerator.DefaultStream, batch * patches, dy.View, dx.View, patches, channels, accumulateDx ? 1 : 0);
        var cls = dx.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int>(ClassTokenGradKernel, group));
        cls(dx.Device.Accelerator.DefaultStream, channels, dy.View, dcls.View, batch, (patches + 1) * channels);
    }

    private static (int Batch, int Patches, int Channels) ClassTokenShapes(string op, Tensor<float> x, Tensor<float> cls, Tensor<float> y)
    {
        OnOneDevice(op, x, cls, y);
        ShapeMismatchException.Require(x.Shape.Rank == 3, op, $"patch tokens have shape {x.Shape}; they need (B, P, C).");
        int batch = x.Shape[0], patches = x.Shape[1], channels = x.Shape[2];
        ShapeMismatchException.Require(cls.Length == channels, op, $"class token has shape {cls.Shape}; it needs {channels} elements.");
        ShapeMismatchException.ThrowIfDifferent(op, "tokens", new Shape(batch, patches + 1, channels), y.Shape);
        return (batch, patches, channels);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PrependClassTokenKernel(Index1D row, ArrayView<float> x, ArrayView<float> cls, ArrayView<float> y, int patches, int channels)
    {
        int b = row / (patches + 1), t = row % (patches + 1);
        if (t == 0) ScaleRow(cls, y, 0, row * channels, channels, 1f, 0);
        else ScaleRow(x, y, (b * patches + t - 1) * channels, row * channels, channels, 1f, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ClassTokenPatchGradKernel(Index1D row, ArrayView<float> dy, ArrayView<float> dx, int patches, int channels, int accumulate)
    {
        int b = row / patches, p = row % patches;
        int from = (b * (patches + 1) + p + 1) * channels, to = row * channels;
        for (int c = 0; c < channels; c++) dx[to + c] = dy[from + c] + (accumulate != 0 ? dx[to + c] : 0f);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ClassTokenGradKernel(Index1D channel, ArrayView<float> dy, ArrayView<float> dcls, int batch, int imageStride)
    {
        float sum = 0f;
        for (int b = 0; b < batch; b++) sum += dy[b * imageStride + channel];
        dcls[channel] += sum;
    }
}
