// Group normalisation (Wu & He 2018) as torch.nn.functional.group_norm over NCHW tensors (B, C, ...):
// the C channels split into G groups of C/G consecutive channels; each (image, group) is normalised
// over its (C/G) x pixels elements with the biased variance, then scaled and shifted per channel:
//   y[b, c, p] = (x[b, c, p] - mean[b, g]) rstd[b, g] gamma[c] + beta[c],  rstd = 1/sqrt(var + eps).
// In NCHW a group is one contiguous row of (C/G) P elements, so this is LayerNorm's row algorithm
// (two passes with the Chan-Golub-LeVeque mean correction, LayerNorm.cs) with a per-channel affine.
// Per-group mean and rstd can be saved (B, G) for the backward; a ReLU can follow in the same pass
// (GroupNormAct at inference, where nothing needs the pre-activation values). Geometry: a kernel index covers a
// block of rows (Ops.RowsPerIndex); on GPUs one row (B G threads, fine for the stem's sizes).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    // GroupNorm's flag beside LayerNorm's SaveMean and SaveRstd: a ReLU follows the affine.
    private const int Rectify = 4;

    /// <summary>
    /// Normalises <paramref name="x"/> (B, C, ...) over each of <paramref name="groups"/> channel groups per image,
    /// then scales by <paramref name="gamma"/> (C) and shifts by <paramref name="beta"/> (C), into
    /// <paramref name="y"/> (x's shape; may be x). With <paramref name="mean"/> and <paramref name="rstd"/> (B, G),
    /// also stores each group's mean and 1/sqrt(var + eps). With <paramref name="relu"/>, y = max(GroupNorm(x), 0).
    /// </summary>
    /// <exception cref="ShapeMismatchException">C is not a multiple of groups, or a shape does not fit x's.</exception>
    public static void GroupNorm(Tensor<float> x, Tensor<float> gamma, Tensor<float> beta, Tensor<float> y, int groups,
        float eps = 1e-5f, Tensor<float>? mean = null, Tensor<float>? rstd = null, bool relu = false)
    {
        const string op = "GroupNorm";
        var device = OnOneDevice(op, x, gamma, beta, y, mean, rstd);
        var a = GroupArgsOf(op, x, gamma, groups, mean, rstd);
        ShapeMismatchException.ThrowIfDifferent(op, "beta", gamma.Shape, beta.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "y", x.Shape, y.Shape);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            GroupArgs, float, int>(GroupNormKernel, group));
        int stats = (mean is null ? 0 : SaveMean) | (rstd is null ? 0 : SaveRstd) | (relu ? Rectify : 0);
        launch(device.Accelerator.DefaultStream, Blocks(a.Rows, a.RowsPerIndex), x.View, gamma.View, beta.View, y.View,
            (mean ?? x).View, (rstd ?? x).View, a, eps, stats);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GroupNormKernel(Index1D index, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> y, ArrayView<float> mean, ArrayView<float> rstd, GroupArgs a, float eps, int stats)
    {
        int first = index * a.RowsPerIndex;
        for (int row = first; row < Math.Min(first + a.RowsPerIndex, a.Rows); row++)
            GroupNormRow(x, gamma, beta, y, mean, rstd, a, row, eps, stats);
    }

    /// <summary>One (image, group) row: LayerNorm's two statistics passes over its (C/G) P elements, then each channel's affine.</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(GroupNormRowPortable))]
    internal static unsafe void GroupNormRow(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> y, ArrayView<float> mean, ArrayView<float> rstd, GroupArgs a, int row, float eps, int stats)
    {
        int n = a.ChannelsPerGroup * a.Pixels, c0 = row % a.Groups * a.ChannelsPerGroup;
        float* xs = FastMath.Address(x, (long)row * n);
        float* ys = FastMath.Address(y, (long)row * n);
        float m = LayerNormSum(xs, n) / n;
        var (sd, sdd) = LayerNormDeviations(xs, n, m);
        float mc = m + sd / n;
        float r = 1f / MathF.Sqrt(MathF.Max((sdd - sd * sd / n) / n, 0f) + eps);
        if ((stats & SaveMean) != 0) mean[row] = mc;
        if ((stats & SaveRstd) != 0) rstd[row] = r;
        for (int c = 0; c < a.ChannelsPerGroup; c++)
        {
            float scale = r * gamma[c0 + c], shift = beta[c0 + c] - mc * scale;
            ScaleShift(xs + c * a.Pixels, ys + c * a.Pixels, a.Pixels, scale, shift, (stats & Rectify) != 0);
        }
    }

    // y = x scale + shift over n elements, then max(y, 0) if rectified (reads each x before writing its y, so y may be x).
    private static unsafe void ScaleShift(float* xs, float* ys, int n, float scale, float shift, bool rectify)
    {
        var vs = Vector512.Create(scale);
        var vt = Vector512.Create(shift);
        float low = rectify ? 0f : float.NegativeInfinity;
        var floor = Vector512.Create(low);
        int j = 0;
        for (; j + 16 <= n; j += 16) Vector512.Max(Vector512.FusedMultiplyAdd(Vector512.Load(xs + j), vs, vt), floor).Store(ys + j);
        for (; j < n; j++) ys[j] = MathF.Max(MathF.FusedMultiplyAdd(xs[j], scale, shift), low);
    }

    internal static void GroupNormRowPortable(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> y, ArrayView<float> mean, ArrayView<float> rstd, GroupArgs a, int row, float eps, int stats)
    {
        int n = a.ChannelsPerGroup * a.Pixels, offset = row * n, c0 = row % a.Groups * a.ChannelsPerGroup;
        // Pass 1: the mean; pass 2: deviations, whose sum corrects it and whose squares give the variance.
        float sum = 0f;
        for (int j = 0; j < n; j++) sum += x[offset + j];
        float m = sum / n, sd = 0f, sdd = 0f;
        for (int j = 0; j < n; j++)
        {
            float d = x[offset + j] - m;
            sd += d;
            sdd += d * d;
        }
        float mc = m + sd / n;
        float r = 1f / MathF.Sqrt(MathF.Max((sdd - sd * sd / n) / n, 0f) + eps);
        if ((stats & SaveMean) != 0) mean[row] = mc;
        if ((stats & SaveRstd) != 0) rstd[row] = r;
        // Pass 3: normalise, then the channel's affine (reads x before writing y, so y may be x).
        for (int c = 0; c < a.ChannelsPerGroup; c++)
        {
            float scale = r * gamma[c0 + c], shift = beta[c0 + c] - mc * scale;
            int start = offset + c * a.Pixels;
            for (int p = start; p < start + a.Pixels; p++)
            {
                float v = x[p] * scale + shift;
                y[p] = (stats & Rectify) != 0 ? MathF.Max(v, 0f) : v;
            }
        }
    }

    // Checks x (B, C, ...), gamma (C), the optional (B, G) statistics; the flat launch arguments.
    private static GroupArgs GroupArgsOf(string op, Tensor<float> x, Tensor<float> gamma, int groups, Tensor<float>? mean, Tensor<float>? rstd)
    {
        ShapeMismatchException.Require(x.Shape.Rank >= 2 && x.Length <= int.MaxValue, op,
            $"x has shape {x.Shape}; it needs (B, C, ...) with fewer than 2^31 elements.");
        int batch = x.Shape[0], channels = x.Shape[1];
        ShapeMismatchException.Require(groups >= 1 && channels % groups == 0, op,
            $"x {x.Shape} has {channels} channels, which do not split into {groups} groups.");
        ShapeMismatchException.ThrowIfDifferent(op, "gamma", new Shape(channels), gamma.Shape);
        int rows = batch * groups;
        foreach (var (name, t) in new[] { ("mean", mean), ("rstd", rstd) })
            if (t is not null && t.Length != rows)
                throw new ShapeMismatchException($"{op}: {name} has shape {t.Shape}, expected ({batch}, {groups}): one per image and group.");
        int pixels = rows == 0 ? 0 : (int)(x.Length / (batch * channels));
        int perIndex = x.Device.UsesCpuFastPath ? Math.Max(1, Math.Min(RowsPerIndex(x.Device, rows), ElementwiseChunk / Math.Max(1, channels / groups * pixels))) : 1;
        return new GroupArgs(rows, perIndex, groups, channels / groups, pixels);
    }
}

/// <summary>One GroupNorm launch: rows (B G), rows per kernel index, G, channels per group, pixels per channel.</summary>
internal readonly record struct GroupArgs(int Rows, int RowsPerIndex, int Groups, int ChannelsPerGroup, int Pixels);
