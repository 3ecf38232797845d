// GEMM: C = alpha op(A) op(B) [+ C] [+ bias] [-> GELU] [+ residual], over strided batches.
//
// A batch index z in [0, batch * heads) splits into (image b = z / heads, head h = z % heads), and
// every operand locates its matrix at Offset + b * BatchStride + h * HeadStride with its own row
// stride, so all attention heads of a fused qkv buffer (B, T, 3C) run in one launch without a
// permute. The epilogue is fused into the store: bias (Linear), bias + GELU (MLP fc1), bias +
// residual (attention proj and fc2 on the residual stream).
//
// Two implementations of one contract, chosen by device:
//   CPU: GemmCpu.cs   - pack B into 32-column panels (kept with B while it is unchanged: GemmPackCache.cs),
//                       then an 8x32 Vector512 micro-kernel per tile.
//   GPU: GemmTiled.cs - one generic shared-memory tiled kernel, tile shape per problem (GemmTiles.cs).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

/// <summary>Where one operand's matrices sit in its tensor (in elements). See the Gemm file comment.</summary>
/// <param name="Offset">The first element of matrix (0, 0).</param>
/// <param name="RowStride">Elements between consecutive rows of the stored matrix.</param>
/// <param name="BatchStride">Elements between images (0 broadcasts one matrix to every image).</param>
/// <param name="HeadStride">Elements between heads of one image.</param>
public readonly record struct MatrixLayout(int Offset, int RowStride, int BatchStride = 0, int HeadStride = 0);

/// <summary>The optional parts of a GEMM: transposes, scale, accumulation and the fused epilogue.</summary>
public sealed record GemmOptions
{
    /// <summary>A is stored as (K, M) and used transposed.</summary>
    public bool TransposeA { get; init; }

    /// <summary>B is stored as (N, K) and used transposed (a Linear layer's weight).</summary>
    public bool TransposeB { get; init; }

    /// <summary>Scale of the product (for example 1/sqrt(d) for attention scores).</summary>
    public float Alpha { get; init; } = 1f;

    /// <summary>Add to C's contents instead of overwriting them (gradient accumulation).</summary>
    public bool Accumulate { get; init; }

    /// <summary>Per-column bias (N), added after scaling.</summary>
    public Tensor<float>? Bias { get; init; }

    /// <summary>Apply exact GELU after the bias.</summary>
    public bool Gelu { get; init; }

    /// <summary>A tensor laid out like C whose elements are added last (the residual stream).</summary>
    public Tensor<float>? Residual { get; init; }

    /// <summary>No transposes, alpha 1, no epilogue.</summary>
    public static GemmOptions Default { get; } = new();
}

/// <summary>The flattened description of one GEMM launch, passed to kernels by value.</summary>
internal struct GemmArgs
{
    public int M, N, K, Heads;
    public int TransA, TransB;
    public int AOffset, Lda, ABatch, AHead;
    public int BOffset, Ldb, BBatch, BHead;
    public int COffset, Ldc, CBatch, CHead;
    public float Alpha;
    public int Accumulate, HasBias, Gelu, HasResidual;
    public int Panels, RowBlocks, PackedBatches;
    public int RowBlocksPerTask;   // CPU: row blocks one kernel index computes, to amortise per-index cost
    public int VectorA, VectorB;   // GPU: 1 where the operand's rows start on 16 bytes, so slices load as float4

    public static GemmArgs Create(int batch, int heads, int m, int n, int k, MatrixLayout la, MatrixLayout lb, MatrixLayout lc, GemmOptions o) => new()
    {
        M = m, N = n, K = k, Heads = heads,
        TransA = o.TransposeA ? 1 : 0, TransB = o.TransposeB ? 1 : 0,
        AOffset = la.Offset, Lda = la.RowStride, ABatch = la.BatchStride, AHead = la.HeadStride,
        BOffset = lb.Offset, Ldb = lb.RowStride, BBatch = lb.BatchStride, BHead = lb.HeadStride,
        COffset = lc.Offset, Ldc = lc.RowStride, CBatch = lc.BatchStride, CHead = lc.HeadStride,
        Alpha = o.Alpha,
        Accumulate = o.Accumulate ? 1 : 0, HasBias = o.Bias is null ? 0 : 1,
        Gelu = o.Gelu ? 1 : 0, HasResidual = o.Residual is null ? 0 : 1,
        Panels = (n + Ops.GemmPanel - 1) / Ops.GemmPanel,
        RowBlocks = (m + Ops.GemmRows - 1) / Ops.GemmRows,
        PackedBatches = lb.BatchStride == 0 && lb.HeadStride == 0 ? 1 : batch * heads,
        RowBlocksPerTask = 1,
    };

    public readonly int ABase(int z) => AOffset + z / Heads * ABatch + z % Heads * AHead;
    public readonly int BBase(int z) => BOffset + z / Heads * BBatch + z % Heads * BHead;
    public readonly int CBase(int z) => COffset + z / Heads * CBatch + z % Heads * CHead;

    /// <summary>Index of op(A)(i, k).</summary>
    public readonly int AIndex(int aBase, int i, int k) => TransA != 0 ? aBase + k * Lda + i : aBase + i * Lda + k;

    /// <summary>Index of op(B)(k, j).</summary>
    public readonly int BIndex(int bBase, int k, int j) => TransB != 0 ? bBase + j * Ldb + k : bBase + k * Ldb + j;
}

public static partial class Ops
{
    /// <summary>
    /// Batched matrix product of whole tensors: <paramref name="a"/> (..., M, K) [or (..., K, M) with
    /// TransposeA] times <paramref name="b"/> (K, N) shared by every batch, or (..., K, N) per batch
    /// [(N, K) with TransposeB], into <paramref name="c"/> (..., M, N).
    /// </summary>
    /// <example><code>Ops.MatMul(x, weight, y, new GemmOptions { TransposeB = true, Bias = bias }); // Linear</code></example>
    /// <exception cref="ShapeMismatchException">The shapes do not chain.</exception>
    public static void MatMul(Tensor<float> a, Tensor<float> b, Tensor<float> c, GemmOptions? options = null)
    {
        var o = options ?? GemmOptions.Default;
        ShapeMismatchException.Require(a.Shape.Rank >= 2 && b.Shape.Rank >= 2 && c.Shape.Rank >= 2, "MatMul",
            $"operands need at least two dimensions; got A {a.Shape}, B {b.Shape}, C {c.Shape}.");
        int ar = a.Shape[-2], ac = a.Shape[-1], br = b.Shape[-2], bc = b.Shape[-1];
        int m = o.TransposeA ? ac : ar, k = o.TransposeA ? ar : ac;
        int kb = o.TransposeB ? bc : br, n = o.TransposeB ? br : bc;
        int batch = (int)a.Shape.Outer(-2);
        ShapeMismatchException.Require(kb == k, "MatMul",
            $"A {a.Shape}{(o.TransposeA ? "ᵀ" : "")} and B {b.Shape}{(o.TransposeB ? "ᵀ" : "")} disagree on the inner dimension ({k} vs {kb}).");
        int bBatch = (int)b.Shape.Outer(-2);
        ShapeMismatchException.Require(bBatch == 1 || bBatch == batch, "MatMul",
            $"B {b.Shape} has {bBatch} matrices; A {a.Shape} has {batch} (B needs 1 or {batch}).");
        ShapeMismatchException.Require(c.Shape[-2] == m && c.Shape[-1] == n && c.Shape.Outer(-2) == batch, "MatMul",
            $"C has shape {c.Shape}; A {a.Shape} times B {b.Shape} gives {batch} matrices of ({m}, {n}).");
        Gemm(batch, 1, m, n, k,
            a, new MatrixLayout(0, ac, ar * ac),
            b, new MatrixLayout(0, bc, bBatch == 1 ? 0 : br * bc),
            c, new MatrixLayout(0, n, m * n), o);
    }

    /// <summary>
    /// The general strided GEMM: for each of <paramref name="batch"/> x <paramref name="heads"/> matrices,
    /// C (M, N) = alpha op(A) (M, K) op(B) (K, N) with the epilogue of <paramref name="options"/>.
    /// Each operand's matrices are located by its <see cref="MatrixLayout"/>; a residual uses C's layout.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A layout reaches outside its tensor, or the bias is not (N).</exception>
    public static void Gemm(int batch, int heads, int m, int n, int k,
        Tensor<float> a, MatrixLayout la, Tensor<float> b, MatrixLayout lb, Tensor<float> c, MatrixLayout lc,
        GemmOptions? options = null) =>
        GemmOn(null, batch, heads, m, n, k, a, la, b, lb, c, lc, options);

    /// <summary>
    /// <see cref="Gemm"/> with the GPU tile shape forced (tests run every shape); null lets
    /// <see cref="ChooseGemmTile"/> pick. The CPU fast path ignores it.
    /// </summary>
    internal static void GemmOn(GemmTileShape? tile, int batch, int heads, int m, int n, int k,
        Tensor<float> a, MatrixLayout la, Tensor<float> b, MatrixLayout lb, Tensor<float> c, MatrixLayout lc,
        GemmOptions? options = null)
    {
        OnOneDeviceReading("Gemm", onlyRead: 1, a, b, c, options?.Bias, options?.Residual);
        var o = options ?? GemmOptions.Default;
        ShapeMismatchException.Require(batch >= 1 && heads >= 1 && m >= 1 && n >= 1 && k >= 1, "Gemm",
            $"sizes must be positive: batch {batch}, heads {heads}, M {m}, N {n}, K {k}.");
        CheckReach("A", a, la, batch, heads, o.TransposeA ? k : m, o.TransposeA ? m : k);
        CheckReach("B", b, lb, batch, heads, o.TransposeB ? n : k, o.TransposeB ? k : n);
        CheckReach("C", c, lc, batch, heads, m, n);
        if (o.Residual is not null) CheckReach("residual", o.Residual, lc, batch, heads, m, n);
        if (o.Bias is not null && o.Bias.Length != n)
            throw new ShapeMismatchException($"Gemm: bias has shape {o.Bias.Shape}, expected ({n}).");

        var g = GemmArgs.Create(batch, heads, m, n, k, la, lb, lc, o);
        var bias = (o.Bias ?? c).View;
        var residual = (o.Residual ?? c).View;
        if (c.Device.UsesCpuFastPath)
            GemmCpu(c.Device, g, batch * heads, a.View, b, c.View, bias, residual);
        else
            GemmTiled(c.Device, g, batch * heads, tile ?? ChooseGemmTile(m, n, c.Device.Accelerator.NumMultiprocessors, batch * heads), a.View, b.View, c.View, bias, residual);
    }

    private static void CheckReach(string name, Tensor<float> t, MatrixLayout l, int batch, int heads, int rows, int cols)
    {
        long last = l.Offset + (long)(batch - 1) * l.BatchStride + (long)(heads - 1) * l.HeadStride + (long)(rows - 1) * l.RowStride + cols - 1;
        if (l.Offset < 0 || l.RowStride < cols || l.BatchStride < 0 || l.HeadStride < 0 || last >= t.Length || t.Length > int.MaxValue)
            throw new ShapeMismatchException(
                $"Gemm: {name} of shape {t.Shape} cannot hold {batch}x{heads} matrices of ({rows}, {cols}) at {l} (last element {last}, length {t.Length}).");
    }

    /// <summary>The epilogue of one output element; the portable and GPU paths share it.</summary>
    internal static void GemmStore(ILGPU.ArrayView<float> c, ILGPU.ArrayView<float> bias, ILGPU.ArrayView<float> residual,
        GemmArgs g, int index, int j, float acc)
    {
        float v = g.Alpha * acc;
        if (g.Accumulate != 0) v += c[index];
        if (g.HasBias != 0) v += bias[j];
        if (g.Gelu != 0) v = FastMath.Gelu(v);
        if (g.HasResidual != 0) v += residual[index];
        c[index] = v;
    }
}
