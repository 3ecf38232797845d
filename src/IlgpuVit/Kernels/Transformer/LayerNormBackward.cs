// Backward of LayerNorm (LayerNorm.cs), as torch.nn.LayerNorm and llm.c's layernorm_backward:
//   xhat_j = (x_j - mean) rstd,   g_j = dy_j gamma_j,
//   dx_j   = rstd (g_j - mean_k g_k - xhat_j mean_k (g_k xhat_k)),
//   dgamma_j = sum_rows dy_j xhat_j,   dbeta_j = sum_rows dy_j.
// Gradient convention: parameter gradients (dgamma, dbeta) ACCUMULATE (+=); the activation
// gradient dx is OVERWRITTEN unless accumulateDx (the residual stream adds into it).
// dgamma and dbeta are column sums over every row, done without atomics (PartialSums.cs): the
// first kernel computes dx for a block of rows and writes the block's partial dgamma and dbeta
// into a scratch row (blocks, 2C); the second adds the partials per column in block order.
// mean and rstd are the per-row statistics Ops.LayerNorm saved; x is re-read instead of a saved
// xhat, which costs nothing extra (the row is read anyway) and saves an activation buffer.
// On GPUs one group takes a block of rows (LayerNormBackwardGroupKernel): per row it forms dx with
// group sums, and thread t keeps the partial dgamma, dbeta of columns t, t + 256, ... in registers
// across the block's rows, so every partial has one writer and a fixed order (docs/backends.md).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Gradients of <see cref="LayerNorm"/>: from <paramref name="dy"/> (rows, C), the input
    /// <paramref name="x"/> (rows, C), <paramref name="gamma"/> (C) and the saved per-row
    /// <paramref name="mean"/> and <paramref name="rstd"/> (one element per row, e.g. (B, T)), writes
    /// <paramref name="dx"/> (rows, C; may be dy), or adds to it with <paramref name="accumulateDx"/>,
    /// and adds the parameter gradients to <paramref name="dgamma"/> (C) and <paramref name="dbeta"/> (C).
    /// Leading axes of x are flattened into rows. Deterministic.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A shape does not fit x's.</exception>
    public static void LayerNormBackward(Tensor<float> dy, Tensor<float> x, Tensor<float> gamma, Tensor<float> mean,
        Tensor<float> rstd, Tensor<float> dx, Tensor<float> dgamma, Tensor<float> dbeta, bool accumulateDx = false)
    {
        const string op = "LayerNormBackward";
        var device = OnOneDevice(op, dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
        int c = x.Shape[-1];
        ShapeMismatchException.ThrowIfDifferent(op, "dy", x.Shape, dy.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dx", x.Shape, dx.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "gamma", new Shape(c), gamma.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dgamma", new Shape(c), dgamma.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dbeta", new Shape(c), dbeta.Shape);
        int rows = CheckedLength(op, x) / c;
        ShapeMismatchException.Require(mean.Length == rows, op, $"mean has shape {mean.Shape}, expected {rows} elements, one per row of x {x.Shape}.");
        ShapeMismatchException.Require(rstd.Length == rows, op, $"rstd has shape {rstd.Shape}, expected {rows} elements, one per row of x {x.Shape}.");

        int rowsPerBlock = PartialRowsPerBlock(device, rows, c);
        int blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
        using var partials = Tensor<float>.Empty(device, blocks, 2 * c);
        if (rows == 0) return;
        if (!device.UsesCpuFastPath)
        {
            var rowGroups = device.Kernel(static (acc, _) => acc.LoadKernel<
                ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, int, int, int, int>(LayerNormBackwardGroupKernel));
            rowGroups(device.Accelerator.DefaultStream, new KernelConfig(blocks, RowGroup(device, c)), dy.View, x.View, gamma.View, mean.View, rstd.View,
                dx.View, partials.View, c, rows, rowsPerBlock, accumulateDx ? 1 : 0);
            SumPartials(device, partials.View, blocks, 2 * c, dgamma.View, dbeta.View, c, accumulate: true);
            return;
        }
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, int, int, int, int>(LayerNormBackwardKernel, group));
        launch(device.Accelerator.DefaultStream, blocks, dy.View, x.View, gamma.View, mean.View, rstd.View, dx.View, partials.View,
            c, rows, rowsPerBlock, accumulateDx ? 1 : 0);
        SumPartials(device, partials.View, blocks, 2 * c, dgamma.View, dbeta.View, c, accumulate: true);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LayerNormBackwardKernel(Index1D block, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> gamma,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dx, ArrayView<float> partials,
        int n, int rows, int rowsPerBlock, int accumulateDx)
    {
        int first = block * rowsPerBlock;
        LayerNormBackwardRows(dy, x, gamma, mean, rstd, dx, partials, first, Math.Min(rowsPerBlock, rows - first), n, block, accumulateDx);
    }

    // One group per block of rows (grid index = block). The column loop runs once per row for the
    // sums and once for dx; the partials of a column live in the same thread's slot of partials.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LayerNormBackwardGroupKernel(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> gamma,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dx, ArrayView<float> partials,
        int n, int rows, int rowsPerBlock, int accumulateDx)
    {
        int block = Grid.IdxX, first = block * rowsPerBlock, last = Math.Min(first + rowsPerBlock, rows);
        long pg = (long)block * 2 * n, pb = pg + n;
        for (int j = Group.IdxX; j < n; j += Group.DimX)
        {
            partials[pg + j] = 0f;
            partials[pb + j] = 0f;
        }
        for (int row = first; row < last; row++)
        {
            long offset = (long)row * n;
            float m = mean[row], r = rstd[row];
            float sumG = 0f, sumGx = 0f;
            for (int j = Group.IdxX; j < n; j += Group.DimX)
            {
                float d = dy[offset + j];
                float xhat = (x[offset + j] - m) * r;
                float g = d * gamma[j];
                sumG += g;
                sumGx += g * xhat;
                partials[pg + j] += d * xhat;
                partials[pb + j] += d;
            }
            float a = GroupReduce<SumOp>(sumG) / n, b = GroupReduce<SumOp>(sumGx) / n;
            for (int j = Group.IdxX; j < n; j += Group.DimX)
            {
                float xhat = (x[offset + j] - m) * r;
                float d = r * (dy[offset + j] * gamma[j] - a - xhat * b);
                dx[offset + j] = accumulateDx != 0 ? dx[offset + j] + d : d;
            }
        }
    }

    // dx for rows [first, first + count), and their dgamma, dbeta sums in partials row `block`
    // (dgamma at [0, n), dbeta at [n, 2n)).
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(LayerNormBackwardRowsPortable))]
    internal static unsafe void LayerNormBackwardRows(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> gamma,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dx, ArrayView<float> partials,
        int first, int count, int n, int block, int accumulateDx)
    {
        float* gs = FastMath.Address(gamma, 0);
        float* pg = FastMath.Address(partials, (long)block * 2 * n);
        float* pb = pg + n;
        new Span<float>(pg, 2 * n).Clear();
        for (int row = first; row < first + count; row++)
        {
            float* dys = FastMath.Address(dy, (long)row * n);
            float* xs = FastMath.Address(x, (long)row * n);
            float* dxs = FastMath.Address(dx, (long)row * n);
            float m = mean[row], r = rstd[row];
            // Pass 1: sums of g and g xhat; the parameter-gradient partials.
            var (sumG, sumGx) = LayerNormBackwardSums(dys, xs, gs, pg, pb, n, m, r);
            // Pass 2: dx (reads dy[j] before writing dx[j], so dx may be dy).
            float a = sumG / n, b = sumGx / n;
            var vm = Vector512.Create(m);
            var vr = Vector512.Create(r);
            var va = Vector512.Create(a);
            var vb = Vector512.Create(b);
            int j = 0;
            for (; j + 16 <= n; j += 16)
            {
                var xhat = (Vector512.Load(xs + j) - vm) * vr;
                var g = Vector512.Load(dys + j) * Vector512.Load(gs + j);
                var d = vr * (g - va - xhat * vb);
                if (accumulateDx != 0) d += Vector512.Load(dxs + j);
                d.Store(dxs + j);
            }
            for (; j < n; j++)
            {
                float xhat = (xs[j] - m) * r;
                float d = r * (dys[j] * gs[j] - a - xhat * b);
                dxs[j] = accumulateDx != 0 ? dxs[j] + d : d;
            }
        }
    }

    // Pass 1 of one row, in a method of its own so the accumulators stay in registers (see LayerNormSum).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe (float SumG, float SumGx) LayerNormBackwardSums(float* dys, float* xs, float* gs, float* pg, float* pb,
        int n, float m, float r)
    {
        var vm = Vector512.Create(m);
        var vr = Vector512.Create(r);
        Vector512<float> sg = default, sgx = default;
        int j = 0;
        for (; j + 16 <= n; j += 16)
        {
            var d = Vector512.Load(dys + j);
            var xhat = (Vector512.Load(xs + j) - vm) * vr;
            var g = d * Vector512.Load(gs + j);
            sg += g;
            sgx = Vector512.FusedMultiplyAdd(g, xhat, sgx);
            Vector512.FusedMultiplyAdd(d, xhat, Vector512.Load(pg + j)).Store(pg + j);
            (Vector512.Load(pb + j) + d).Store(pb + j);
        }
        float sumG = Vector512.Sum(sg), sumGx = Vector512.Sum(sgx);
        for (; j < n; j++)
        {
            float xhat = (xs[j] - m) * r;
            float g = dys[j] * gs[j];
            sumG += g;
            sumGx += g * xhat;
            pg[j] += dys[j] * xhat;
            pb[j] += dys[j];
        }
        return (sumG, sumGx);
    }

    internal static void LayerNormBackwardRowsPortable(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> gamma,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dx, ArrayView<float> partials,
        int first, int count, int n, int block, int accumulateDx)
    {
        int pg = block * 2 * n, pb = pg + n;
        for (int j = 0; j < 2 * n; j++) partials[pg + j] = 0f;
        for (int row = first; row < first + count; row++)
        {
            int offset = row * n;
            float m = mean[row], r = rstd[row];
            float sumG = 0f, sumGx = 0f;
            for (int j = 0; j < n; j++)
            {
                float d = dy[offset + j];
                float xhat = (x[offset + j] - m) * r;
                float g = d * gamma[j];
                sumG += g;
                sumGx += g * xhat;
                partials[pg + j] += d * xhat;
                partials[pb + j] += d;
            }
            float a = sumG / n, b = sumGx / n;
            for (int j = 0; j < n; j++)
            {
                float xhat = (x[offset + j] - m) * r;
                float d = r * (dy[offset + j] * gamma[j] - a - xhat * b);
                dx[offset + j] = accumulateDx != 0 ? dx[offset + j] + d : d;
            }
        }
    }
}
