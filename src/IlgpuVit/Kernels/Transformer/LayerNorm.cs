// Layer normalisation over the last axis (Ba, Kiros & Hinton 2016), as torch.nn.LayerNorm:
//   mean = sum_j x[r, j] / C,   var = sum_j (x[r, j] - mean)^2 / C   (biased),
//   y[r, j] = (x[r, j] - mean) / sqrt(var + eps) * gamma[j] + beta[j].
// Two passes over the row (mean, then the deviations) rather than E[x^2] - E[x]^2, which cancels
// catastrophically when |mean| >> std; the second pass also sums the deviations and corrects the
// mean by their average (the corrected two-pass algorithm of Chan, Golub & LeVeque 1983), so a
// float32 first-pass mean costs no accuracy. Per-row mean and rstd = 1/sqrt(var + eps) can be saved
// for the backward, as in llm.c's layernorm_forward. The row helper is the CPU fast path; on the CPU
// one kernel index covers rows of about 4096 elements in all (ILGPU's per-index call through its
// launcher would otherwise show beside a 384-element row); on GPUs one thread group per row, its
// threads striding over the columns, the sums reduced across the group (GroupReduce.cs).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    private const int SaveMean = 1, SaveRstd = 2;

    /// <summary>
    /// Normalises each row of <paramref name="x"/> (rows, C) over its C elements, then scales by
    /// <paramref name="gamma"/> (C) and shifts by <paramref name="beta"/> (C), into <paramref name="y"/>
    /// (same shape as x; may be x). With <paramref name="mean"/> and <paramref name="rstd"/> (one element
    /// per row, e.g. (B, T) for x (B, T, C)), also stores each row's mean and 1/sqrt(var + eps).
    /// </summary>
    /// <exception cref="ShapeMismatchException">A shape does not fit x's.</exception>
    public static void LayerNorm(Tensor<float> x, Tensor<float> gamma, Tensor<float> beta, Tensor<float> y,
        float eps = 1e-6f, Tensor<float>? mean = null, Tensor<float>? rstd = null)
    {
        OnOneDevice("LayerNorm", x, gamma, beta, y, mean, rstd);
        int c = x.Shape[-1];
        ShapeMismatchException.ThrowIfDifferent("LayerNorm", "gamma", new Shape(c), gamma.Shape);
        ShapeMismatchException.ThrowIfDifferent("LayerNorm", "beta", new Shape(c), beta.Shape);
        ShapeMismatchException.ThrowIfDifferent("LayerNorm", "y", x.Shape, y.Shape);
        int rows = CheckedLength("LayerNorm", x) / c;
        CheckPerRow("mean", mean);
        CheckPerRow("rstd", rstd);
        int stats = (mean is null ? 0 : SaveMean) | (rstd is null ? 0 : SaveRstd);
        if (!x.Device.UsesCpuFastPath)
        {
            var rowLaunch = x.Device.Kernel(static (acc, _) => acc.LoadKernel<
                ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                int, float, int>(LayerNormGroupKernel));
            rowLaunch(x.Device.Accelerator.DefaultStream, new KernelConfig(rows, RowGroup(x.Device, c)), x.View, gamma.View, beta.View, y.View,
                (mean ?? x).View, (rstd ?? x).View, c, eps, stats);
        }
        else
        {
            var launch = x.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
                ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                int, int, int, float, int>(LayerNormKernel, group));
            int rowsPerIndex = Math.Max(1, ElementwiseChunk / c);
            launch(x.Device.Accelerator.DefaultStream, (rows + rowsPerIndex - 1) / rowsPerIndex, x.View, gamma.View, beta.View, y.View,
                (mean ?? x).View, (rstd ?? x).View, c, rows, rowsPerIndex, eps, stats);
        }

        void CheckPerRow(string name, Tensor<float>? t)
        {
            if (t is null || t.Length == rows) return;
            var perRow = x.Shape.Rank > 1 ? new Shape(x.Shape.Dims[..^1].ToArray()) : new Shape(1);
            throw new ShapeMismatchException(
                $"LayerNorm: {name} has shape {t.Shape}, expected {rows} elements, one per row of x {x.Shape}, e.g. {perRow}.");
        }
    }

    /// <summary>
    /// GPUs: one group per row, the three passes of the row helper (mean; deviations, whose sum corrects the mean and whose
    /// squares give the variance; normalise) each a strided loop, the first two ending in a group reduction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LayerNormGroupKernel(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> y, ArrayView<float> mean, ArrayView<float> rstd, int n, float eps, int stats)
    {
        int row = Grid.IdxX, stride = Group.DimX;
        long offset = (long)row * n;
        float sum = 0f;
        for (int j = Group.IdxX; j < n; j += stride) sum += x[offset + j];
        float m = GroupReduce<SumOp>(sum) / n;
        float sd = 0f, sdd = 0f;
        for (int j = Group.IdxX; j < n; j += stride)
        {
            float d = x[offset + j] - m;
            sd += d;
            sdd += d * d;
        }
        sd = GroupReduce<SumOp>(sd);
        sdd = GroupReduce<SumOp>(sdd);
        float mc = m + sd / n;
        float r = 1f / MathF.Sqrt((sdd - sd * sd / n) / n + eps);
        if (Group.IdxX == 0)
        {
            if ((stats & SaveMean) != 0) mean[row] = mc;
            if ((stats & SaveRstd) != 0) rstd[row] = r;
        }
        for (int j = Group.IdxX; j < n; j += stride) y[offset + j] = (x[offset + j] - mc) * r * gamma[j] + beta[j];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LayerNormKernel(Index1D index, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> y, ArrayView<float> mean, ArrayView<float> rstd, int n, int rows, int rowsPerIndex, float eps, int stats)
    {
        int first = index * rowsPerIndex;
        for (int row = first; row < Math.Min(first + rowsPerIndex, rows); row++)
            LayerNormRow(x, gamma, beta, y, mean, rstd, row, n, eps, stats);
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(LayerNormRowPortable))]
    internal static unsafe void LayerNormRow(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> y, ArrayView<float> mean, ArrayView<float> rstd, int row, int n, float eps, int stats)
    {
        float* xs = FastMath.Address(x, row * n);
        float* ys = FastMath.Address(y, row * n);
        float* gs = FastMath.Address(gamma, 0), bs = FastMath.Address(beta, 0);
        // Pass 1: the mean.
        float m = LayerNormSum(xs, n) / n;
        // Pass 2: deviations d = x - m; their sum corrects m, their squares give the variance.
        var (sd, sdd) = LayerNormDeviations(xs, n, m);
        float mc = m + sd / n;
        float r = 1f / MathF.Sqrt((sdd - sd * sd / n) / n + eps);
        if ((stats & SaveMean) != 0) mean[row] = mc;
        if ((stats & SaveRstd) != 0) rstd[row] = r;
        // Pass 3: normalise, scale, shift (reads x[j] before writing y[j], so y may be x).
        var vm = Vector512.Create(mc);
        var vr = Vector512.Create(r);
        int j = 0;
        for (; j + 16 <= n; j += 16)
            ((Vector512.Load(xs + j) - vm) * vr * Vector512.Load(gs + j) + Vector512.Load(bs + j)).Store(ys + j);
        for (; j < n; j++) ys[j] = (xs[j] - mc) * r * gs[j] + bs[j];
    }

    // Reductions of one row with four accumulators, in methods of their own so the accumulators stay
    // in registers (see GemmMicroKernel).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe float LayerNormSum(float* xs, int n)
    {
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int j = 0;
        for (; j + 64 <= n; j += 64)
        {
            s0 += Vector512.Load(xs + j);
            s1 += Vector512.Load(xs + j + 16);
            s2 += Vector512.Load(xs + j + 32);
            s3 += Vector512.Load(xs + j + 48);
        }
        for (; j + 16 <= n; j += 16) s0 += Vector512.Load(xs + j);
        float sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        for (; j < n; j++) sum += xs[j];
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe (float Sum, float SumSquares) LayerNormDeviations(float* xs, int n, float m)
    {
        var vm = Vector512.Create(m);
        Vector512<float> s0 = default, s1 = default, q0 = default, q1 = default;
        int j = 0;
        for (; j + 32 <= n; j += 32)
        {
            var d0 = Vector512.Load(xs + j) - vm;
            var d1 = Vector512.Load(xs + j + 16) - vm;
            s0 += d0;
            s1 += d1;
            q0 = Vector512.FusedMultiplyAdd(d0, d0, q0);
            q1 = Vector512.FusedMultiplyAdd(d1, d1, q1);
        }
        for (; j + 16 <= n; j += 16)
        {
            var d = Vector512.Load(xs + j) - vm;
            s0 += d;
            q0 = Vector512.FusedMultiplyAdd(d, d, q0);
        }
        float sum = Vector512.Sum(s0 + s1), squares = Vector512.Sum(q0 + q1);
        for (; j < n; j++)
        {
            float d = xs[j] - m;
            sum += d;
            squares += d * d;
        }
        return (sum, squares);
    }

    internal static void LayerNormRowPortable(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> y, ArrayView<float> mean, ArrayView<float> rstd, int row, int n, float eps, int stats)
    {
        int offset = row * n;
        float sum = 0f;
        for (int j = 0; j < n; j++) sum += x[offset + j];
        float m = sum / n;
        float sd = 0f, sdd = 0f;
        for (int j = 0; j < n; j++)
        {
            float d = x[offset + j] - m;
            sd += d;
            sdd += d * d;
        }
        float mc = m + sd / n;
        float r = 1f / MathF.Sqrt((sdd - sd * sd / n) / n + eps);
        if ((stats & SaveMean) != 0) mean[row] = mc;
        if ((stats & SaveRstd) != 0) rstd[row] = r;
        for (int j = 0; j < n; j++) y[offset + j] = (x[offset + j] - mc) * r * gamma[j] + beta[j];
    }
}
