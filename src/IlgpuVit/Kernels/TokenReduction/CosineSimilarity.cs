// Cosine similarity between two token sets per image, s[b, i, j] = cos(a[b, i], b[b, j]): ToMe's
// matching score (keys averaged over heads, L2-normalised, A x B) and the host choice of eTPS/VPA.
// Composed, not fused: a row normalisation y = x / max(||x||, eps) (as torch.nn.functional.normalize)
// of each operand, then one batched GEMM with B transposed. The eps floor makes a zero row score 0
// against everything instead of NaN. Source: ToMe, tome/merge.py (bipartite_soft_matching).
// The planners call the fused Ops.BestMatch instead; CosineSimilarity stays as its test oracle
// ([TestOracle]), and NormalizeRows serves the VPA host search.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Divides each row of <paramref name="x"/> (..., C) by its L2 norm, floored at <paramref name="eps"/>:
    /// y = x / max(||x||, eps), into <paramref name="y"/> (same shape; may be x).
    /// </summary>
    /// <exception cref="ShapeMismatchException">y's shape differs from x's.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eps"/> is not positive.</exception>
    public static void NormalizeRows(Tensor<float> x, Tensor<float> y, float eps = 1e-12f)
    {
        OnOneDevice("NormalizeRows", x, y);
        ShapeMismatchException.ThrowIfDifferent("NormalizeRows", "y", x.Shape, y.Shape);
        if (!(eps > 0f))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "NormalizeRows: eps must be positive (it keeps zero rows finite).");
        int n = x.Shape[-1];
        int rows = (int)x.Shape.Outer(-1);
        int block = RowsPerIndex(x.Device, rows);
        var launch = x.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, float, int, int>(NormalizeRowsKernel, group));
        launch(x.Device.Accelerator.DefaultStream, Blocks(rows, block), x.View, y.View, n, eps, rows, block);
    }

    /// <summary>
    /// Cosine similarity of every row of <paramref name="a"/> (B, Ta, C) with every row of
    /// <paramref name="b"/> (B, Tb, C) of the same image, into <paramref name="s"/> (B, Ta, Tb).
    /// Rows are normalised as by <see cref="NormalizeRows"/> with <paramref name="eps"/>, so a zero
    /// row scores 0. <paramref name="a"/> and <paramref name="b"/> may be the same tensor.
    /// </summary>
    /// <example><code>Ops.CosineSimilarity(keysA, keysB, scores); // ToMe: (B, ceil(N/2), C) x (B, floor(N/2), C)</code></example>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, Ta, C), (B, Tb, C) and (B, Ta, Tb).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eps"/> is not positive.</exception>
    [TestOracle("ToMe's and eTPS's matching, which the planners run fused as Ops.BestMatch")]
    public static void CosineSimilarity(Tensor<float> a, Tensor<float> b, Tensor<float> s, float eps = 1e-12f)
    {
        OnOneDevice("CosineSimilarity", a, b, s);
        ShapeMismatchException.Require(a.Shape.Rank == 3 && b.Shape.Rank == 3 && a.Shape[0] == b.Shape[0] && a.Shape[2] == b.Shape[2],
            "CosineSimilarity", $"a has shape {a.Shape} and b {b.Shape}; they need (B, Ta, C) and (B, Tb, C).");
        ShapeMismatchException.ThrowIfDifferent("CosineSimilarity", "s", new Shape(a.Shape[0], a.Shape[1], b.Shape[1]), s.Shape);
        // Pooled temporaries: the inputs stay untouched (keys are reused by attention's backward).
        using var an = Tensor<float>.Empty(a.Device, a.Shape.Dims.ToArray());
        NormalizeRows(a, an, eps);
        if (ReferenceEquals(a, b))
        {
            MatMul(an, an, s, new GemmOptions { TransposeB = true });
            return;
        }
        using var bn = Tensor<float>.Empty(b.Device, b.Shape.Dims.ToArray());
        NormalizeRows(b, bn, eps);
        MatMul(an, bn, s, new GemmOptions { TransposeB = true });
    }

    // One index per block of rows (one row on GPUs).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void NormalizeRowsKernel(Index1D i, ArrayView<float> x, ArrayView<float> y, int n, float eps, int rows, int rowsPerIndex)
    {
        for (int row = i * rowsPerIndex; row < Math.Min(rows, (i + 1) * rowsPerIndex); row++) NormalizeRow(x, y, row * n, n, eps);
    }

    /// <summary>y[offset..+n) = x[offset..+n) / max(||x||, eps).</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(NormalizeRowPortable))]
    internal static unsafe void NormalizeRow(ArrayView<float> x, ArrayView<float> y, int offset, int n, float eps)
    {
        float* xs = FastMath.Address(x, offset);
        float* ys = FastMath.Address(y, offset);
        float inv = 1f / MathF.Max(MathF.Sqrt(Dot(x, x, offset, offset, n)), eps);
        var vinv = Vector512.Create(inv);
        int j = 0;
        for (; j + 16 <= n; j += 16) (Vector512.Load(xs + j) * vinv).Store(ys + j);
        for (; j < n; j++) ys[j] = xs[j] * inv;
    }

    internal static void NormalizeRowPortable(ArrayView<float> x, ArrayView<float> y, int offset, int n, float eps)
    {
        float inv = 1f / MathF.Max(MathF.Sqrt(DotPortable(x, x, offset, offset, n)), eps);
        for (int j = 0; j < n; j++) y[offset + j] = x[offset + j] * inv;
    }
}
