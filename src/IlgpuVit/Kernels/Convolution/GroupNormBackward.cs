// Backward of GroupNorm (GroupNorm.cs), LayerNorm's rule (LayerNormBackward.cs) over each
// (image, group) row of n = (C/G) P elements, with gamma per channel:
//   xhat = (x - mean) rstd,  g = dy gamma[c],
//   dx = rstd (g - mean_row(g) - xhat mean_row(g xhat)),
//   dgamma[c] = Σ_{b, p} dy xhat,  dbeta[c] = Σ_{b, p} dy.
// Gradient convention: dgamma and dbeta ACCUMULATE; dx is OVERWRITTEN unless accumulateDx.
// Deterministic without atomics: each row writes its channels' sums for its image into a scratch
// (B, 2C) (rows of one image touch disjoint channels), then SumPartials adds the images in order.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Gradients of <see cref="GroupNorm"/>: from <paramref name="dy"/> and the input <paramref name="x"/>
    /// (B, C, ...), <paramref name="gamma"/> (C) and the saved <paramref name="mean"/>, <paramref name="rstd"/>
    /// (B, G), writes <paramref name="dx"/> (x's shape; may be dy), or adds to it with <paramref name="accumulateDx"/>,
    /// and adds to <paramref name="dgamma"/> (C) and <paramref name="dbeta"/> (C). Deterministic.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A shape does not fit x's.</exception>
    public static void GroupNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> gamma, Tensor<float> mean, Tensor<float> rstd,
        Tensor<float> dx, Tensor<float> dgamma, Tensor<float> dbeta, int groups, bool accumulateDx = false)
    {
        const string op = "GroupNormBackward";
        var device = OnOneDevice(op, dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
        var a = GroupArgsOf(op, x, gamma, groups, mean, rstd);
        ShapeMismatchException.ThrowIfDifferent(op, "dy", x.Shape, dy.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dx", x.Shape, dx.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dgamma", gamma.Shape, dgamma.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dbeta", gamma.Shape, dbeta.Shape);
        int batch = x.Shape[0], channels = x.Shape[1];
        using var partials = Tensor<float>.Empty(device, batch, 2 * channels);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, GroupArgs, int>(GroupNormBackwardKernel, group));
        launch(device.Accelerator.DefaultStream, Blocks(a.Rows, a.RowsPerIndex), dy.View, x.View, gamma.View, mean.View, rstd.View,
            dx.View, partials.View, a, accumulateDx ? 1 : 0);
        SumPartials(device, partials.View, batch, 2 * channels, dgamma.View, dbeta.View, channels, accumulate: true);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GroupNormBackwardKernel(Index1D index, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> gamma,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dx, ArrayView<float> partials, GroupArgs a, int accumulateDx)
    {
        int first = index * a.RowsPerIndex;
        for (int row = first; row < Math.Min(first + a.RowsPerIndex, a.Rows); row++)
            GroupNormBackwardRow(dy, x, gamma, mean, rstd, dx, partials, a, row, accumulateDx);
    }

    /// <summary>One (image, group) row of the backward: its channels' partial sums, then dx (the portable body over vectors).</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(GroupNormBackwardRowPortable))]
    internal static unsafe void GroupNormBackwardRow(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> gamma,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dx, ArrayView<float> partials, GroupArgs a, int row, int accumulateDx)
    {
        int n = a.ChannelsPerGroup * a.Pixels, channels = a.Groups * a.ChannelsPerGroup, b = row / a.Groups, c0 = row % a.Groups * a.ChannelsPerGroup;
        float* dys = FastMath.Address(dy, (long)row * n), xs = FastMath.Address(x, (long)row * n), dxs = FastMath.Address(dx, (long)row * n);
        float m = mean[row], r = rstd[row];
        var vm = Vector512.Create(m);
        var vr = Vector512.Create(r);
        float sumG = 0f, sumGx = 0f;
        for (int c = 0; c < a.ChannelsPerGroup; c++)
        {
            float* d = dys + c * a.Pixels, xc = xs + c * a.Pixels;
            Vector512<float> vdx = default, vd = default;
            int p = 0;
            for (; p + 16 <= a.Pixels; p += 16)
            {
                var dv = Vector512.Load(d + p);
                vdx = Vector512.FusedMultiplyAdd(dv, (Vector512.Load(xc + p) - vm) * vr, vdx);
                vd += dv;
            }
            float dyXhat = Vector512.Sum(vdx), dySum = Vector512.Sum(vd);
            for (; p < a.Pixels; p++)
            {
                dyXhat += d[p] * (xc[p] - m) * r;
                dySum += d[p];
            }
            float gc = gamma[c0 + c];
            sumG += gc * dySum;
            sumGx += gc * dyXhat;
            partials[b * 2 * channels + c0 + c] = dyXhat;
            partials[b * 2 * channels + channels + c0 + c] = dySum;
        }
        float meanG = sumG / n, meanGx = sumGx / n;
        for (int c = 0; c < a.ChannelsPerGroup; c++)
        {
            // dx = r (dy gc − meanG − (x − m) r meanGx) = dy (r gc) + (x − m)(−r² meanGx) − r meanG; x − m first, so a
            // large mean cancels exactly as in the portable body.
            float gc = gamma[c0 + c], scaleDy = r * gc, scaleX = -r * r * meanGx, shift = -r * meanG;
            float* d = dys + c * a.Pixels, xc = xs + c * a.Pixels, o = dxs + c * a.Pixels;
            var vdy = Vector512.Create(scaleDy);
            var vx = Vector512.Create(scaleX);
            var vs = Vector512.Create(shift);
            int p = 0;
            for (; p + 16 <= a.Pixels; p += 16)
            {
                var v = Vector512.FusedMultiplyAdd(Vector512.Load(d + p), vdy, Vector512.FusedMultiplyAdd(Vector512.Load(xc + p) - vm, vx, vs));
                (accumulateDx != 0 ? Vector512.Load(o + p) + v : v).Store(o + p);
            }
            for (; p < a.Pixels; p++)
            {
                float v = d[p] * scaleDy + ((xc[p] - m) * scaleX + shift);
                o[p] = accumulateDx != 0 ? o[p] + v : v;
            }
        }
    }

    internal static void GroupNormBackwardRowPortable(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> gamma,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dx, ArrayView<float> partials, GroupArgs a, int row, int accumulateDx)
    {
        int n = a.ChannelsPerGroup * a.Pixels, channels = a.Groups * a.ChannelsPerGroup;
        int offset = row * n, b = row / a.Groups, c0 = row % a.Groups * a.ChannelsPerGroup;
        float m = mean[row], r = rstd[row];
        // Pass 1: row sums of g and g xhat; per-channel sums of dy xhat and dy into this image's partials.
        float sumG = 0f, sumGx = 0f;
        for (int c = 0; c < a.ChannelsPerGroup; c++)
        {
            float gc = gamma[c0 + c], dyXhat = 0f, dySum = 0f;
            int start = offset + c * a.Pixels;
            for (int p = start; p < start + a.Pixels; p++)
            {
                float d = dy[p], xhat = (x[p] - m) * r;
                dyXhat += d * xhat;
                dySum += d;
            }
            sumG += gc * dySum;
            sumGx += gc * dyXhat;
            partials[b * 2 * channels + c0 + c] = dyXhat;
            partials[b * 2 * channels + channels + c0 + c] = dySum;
        }
        // Pass 2: dx (reads dy before writing dx, so dx may be dy).
        float meanG = sumG / n, meanGx = sumGx / n;
        for (int c = 0; c < a.ChannelsPerGroup; c++)
        {
            float gc = gamma[c0 + c];
            int start = offset + c * a.Pixels;
            for (int p = start; p < start + a.Pixels; p++)
            {
                float d = r * (dy[p] * gc - meanG - (x[p] - m) * r * meanGx);
                dx[p] = accumulateDx != 0 ? dx[p] + d : d;
            }
        }
    }
}
