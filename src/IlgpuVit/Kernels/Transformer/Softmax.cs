// Row softmax with a scale and an optional additive per-key bias:
//   y[r, j] = exp(s x[r, j] + bias[g(r), j] - m) / sum_j exp(...),   g(r) = r / rowsPerBias
// The bias is log(size) for proportional attention (ToMe, VPA): scores (B, H, T, T) share one
// bias row (B, T) per image. On the CPU one kernel index is one row (the row helper is the fast
// path); on GPUs one thread group is one row, its threads striding over the columns so loads
// coalesce, with the maximum and the sum reduced across the group (GroupReduce.cs).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Softmax over the last axis of <paramref name="x"/> (rows, n) into <paramref name="y"/> (same shape; may be x).
    /// With <paramref name="keyBias"/> (G, n), row r adds bias row r / (rows / G) before the softmax.
    /// </summary>
    /// <exception cref="ShapeMismatchException">Shapes disagree, or G does not divide the row count.</exception>
    public static void Softmax(Tensor<float> x, Tensor<float> y, float scale = 1f, Tensor<float>? keyBias = null)
    {
        OnOneDevice("Softmax", x, y, keyBias);
        ShapeMismatchException.ThrowIfDifferent("Softmax", "y", x.Shape, y.Shape);
        int n = x.Shape[-1];
        int rows = (int)x.Shape.Outer(-1);
        int rowsPerBias = rows;
        if (keyBias is not null)
        {
            ShapeMismatchException.Require(keyBias.Shape[-1] == n && rows % keyBias.Shape.Outer(-1) == 0, "Softmax",
                $"key bias of shape {keyBias.Shape} does not fit scores of shape {x.Shape}: it needs (G, {n}) with G dividing {rows} rows.");
            rowsPerBias = rows / (int)keyBias.Shape.Outer(-1);
        }
        var bias = (keyBias ?? x).View;
        if (!x.Device.UsesCpuFastPath)
        {
            var rowLaunch = x.Device.Kernel(static (acc, _) => acc.LoadKernel<
                ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, int>(SoftmaxGroupKernel));
            rowLaunch(x.Device.Accelerator.DefaultStream, new KernelConfig(rows, RowGroup(x.Device, n)),
                x.View, y.View, bias, n, rowsPerBias, scale, keyBias is null ? 0 : 1);
            return;
        }
        var launch = x.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, int>(SoftmaxKernel, group));
        launch(x.Device.Accelerator.DefaultStream, rows, x.View, y.View, bias, n, rowsPerBias, scale, keyBias is null ? 0 : 1);
    }

    /// <summary>One group per row: each thread takes columns thread, thread + group size, ...</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SoftmaxGroupKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> bias,
        int n, int rowsPerBias, float scale, int hasBias)
    {
        int row = Grid.IdxX, stride = Group.DimX;
        long offset = (long)row * n, biasOffset = (long)(row / rowsPerBias) * n;
        float max = float.NegativeInfinity;
        for (int j = Group.IdxX; j < n; j += stride)
        {
            float z = x[offset + j] * scale + (hasBias != 0 ? bias[biasOffset + j] : 0f);
            y[offset + j] = z;
            max = MathF.Max(max, z);
        }
        max = GroupReduce<MaxOp>(max);
        float sum = 0f;
        for (int j = Group.IdxX; j < n; j += stride)
        {
            float e = MathF.Exp(y[offset + j] - max);
            y[offset + j] = e;
            sum += e;
        }
        float inv = 1f / GroupReduce<SumOp>(sum);
        for (int j = Group.IdxX; j < n; j += stride) y[offset + j] *= inv;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SoftmaxKernel(Index1D row, ArrayView<float> x, ArrayView<float> y, ArrayView<float> bias,
        int n, int rowsPerBias, float scale, int hasBias) =>
        SoftmaxRow(x, y, bias, row * n, row / rowsPerBias * n, n, scale, hasBias);

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(SoftmaxRowPortable))]
    internal static unsafe void SoftmaxRow(ArrayView<float> x, ArrayView<float> y, ArrayView<float> bias,
        long offset, long biasOffset, int n, float scale, int hasBias)
    {
        float* xs = FastMath.Address(x, offset);
        float* ys = FastMath.Address(y, offset);
        float* bs = FastMath.Address(bias, biasOffset);
        var vs = Vector512.Create(scale);
        int j = 0;
        // Pass 1: z = s x + b into y, and the row maximum.
        var vmax = Vector512.Create(float.NegativeInfinity);
        for (; j + 16 <= n; j += 16)
        {
            var z = Vector512.Load(xs + j) * vs;
            if (hasBias != 0) z += Vector512.Load(bs + j);
            z.Store(ys + j);
            vmax = Vector512.Max(vmax, z);
        }
        float max = FastMath.MaxAcross(vmax);
        for (; j < n; j++)
        {
            float z = xs[j] * scale + (hasBias != 0 ? bs[j] : 0f);
            ys[j] = z;
            max = MathF.Max(max, z);
        }
        // Pass 2: e = exp(z - max) and its sum.
        var vm = Vector512.Create(max);
        var vsum = Vector512<float>.Zero;
        for (j = 0; j + 16 <= n; j += 16)
        {
            var e = FastMath.Exp(Vector512.Load(ys + j) - vm);
            e.Store(ys + j);
            vsum += e;
        }
        float sum = Vector512.Sum(vsum);
        for (; j < n; j++)
        {
            float e = MathF.Exp(ys[j] - max);
            ys[j] = e;
            sum += e;
        }
        // Pass 3: normalise.
        float inv = 1f / sum;
        var vinv = Vector512.Create(inv);
        for (j = 0; j + 16 <= n; j += 16) (Vector512.Load(ys + j) * vinv).Store(ys + j);
        for (; j < n; j++) ys[j] *= inv;
    }

    internal static void SoftmaxRowPortable(ArrayView<float> x, ArrayView<float> y, ArrayView<float> bias,
        long offset, long biasOffset, int n, float scale, int hasBias)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < n; j++)
        {
            float z = x[offset + j] * scale + (hasBias != 0 ? bias[biasOffset + j] : 0f);
            y[offset + j] = z;
            max = MathF.Max(max, z);
        }
        float sum = 0f;
        for (int j = 0; j < n; j++)
        {
            float e = MathF.Exp(y[offset + j] - max);
            y[offset + j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int j = 0; j < n; j++) y[offset + j] *= inv;
    }
}
