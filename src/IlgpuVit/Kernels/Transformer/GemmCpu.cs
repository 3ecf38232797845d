// GEMM on the CPU accelerator (see Gemm.cs for the contract).
// Step 1, GemmPackKernel: op(B) of each batch is copied into panels of 32 columns, each panel a
// contiguous (K, 32) block zero-padded past N, so the micro-kernel streams B linearly (unpacked rows
// 4 KiB apart alias in L1 and halve the speed). A B used twice unchanged (a weight at inference)
// keeps its panels and is not packed again while its version stays (GemmPackCache.cs).
// Step 2, GemmCpuKernel: one index per run of 8x32 tiles down one panel of C, so the panel stays
// hot in cache while the index walks the rows of A. The micro-kernel keeps 16 Vector512
// accumulators in registers and issues 16 FMAs per k, then applies the epilogue and stores a whole
// tile straight from the registers (the GEMM alone 8-10% faster at the small models' K of 64 than
// with a round trip through scratch); ragged tiles repeat the last row and mask the store.

using System.Runtime.Intrinsics.X86;
using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    internal const int GemmPanel = 32, GemmRows = 8;

    private static void GemmCpu(Device device, GemmArgs g, int batches,
        ArrayView<float> a, Tensor<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> residual)
    {
        var stream = device.Accelerator.DefaultStream;
        var cached = GemmPackCache.Find(b, g, out bool fill);
        using var scratch = cached is null ? Tensor<float>.Empty(device, g.PackedBatches, g.Panels, g.K * GemmPanel) : null;
        var packed = cached ?? scratch!;
        if (cached is null || fill)
        {
            var pack = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
                ArrayView<float>, ArrayView<float>, GemmArgs>(GemmPackKernel, group));
            pack(stream, g.PackedBatches * g.Panels, b.View, packed.View, g);
        }
        var multiply = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmCpuKernel, group));
        // Each index computes a run of row blocks of one panel: enough indices to balance the workers
        // (8 each), as few as that allows, since every index costs a call through ILGPU's launcher.
        int tiles = batches * g.Panels * g.RowBlocks;
        g.RowBlocksPerTask = Math.Clamp(tiles / (8 * Device.CpuWorkers), 1, g.RowBlocks);
        int tasksPerPanel = (g.RowBlocks + g.RowBlocksPerTask - 1) / g.RowBlocksPerTask;
        multiply(stream, batches * g.Panels * tasksPerPanel, a, packed.View, c, bias, residual, g);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GemmPackKernel(Index1D index, ArrayView<float> b, ArrayView<float> packed, GemmArgs g)
    {
        int z = index / g.Panels, p = index % g.Panels;
        GemmPackPanel(b, packed, g, g.BBase(z), index * g.K * GemmPanel, p * GemmPanel);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GemmCpuKernel(Index1D task, ArrayView<float> a, ArrayView<float> packed, ArrayView<float> c,
        ArrayView<float> bias, ArrayView<float> residual, GemmArgs g)
    {
        int tasksPerPanel = (g.RowBlocks + g.RowBlocksPerTask - 1) / g.RowBlocksPerTask;
        int first = task % tasksPerPanel * g.RowBlocksPerTask;
        int zp = task / tasksPerPanel;
        int p = zp % g.Panels, z = zp / g.Panels;
        int panelOffset = ((g.PackedBatches == 1 ? 0 : z) * g.Panels + p) * g.K * GemmPanel;
        for (int rowBlock = first; rowBlock < Math.Min(first + g.RowBlocksPerTask, g.RowBlocks); rowBlock++)
            GemmTile(a, packed, c, bias, residual, g, z, rowBlock * GemmRows, p * GemmPanel, panelOffset);
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(GemmPackPanelPortable))]
    internal static unsafe void GemmPackPanel(ArrayView<float> b, ArrayView<float> packed, GemmArgs g, int bBase, int panelOffset, int j0)
    {
        float* dst = FastMath.Address(packed, panelOffset);
        int cols = Math.Min(GemmPanel, g.N - j0);
        if (cols < GemmPanel) new Span<float>(dst, g.K * GemmPanel).Clear();
        if (g.TransB == 0)
        {
            // Rows of B: 32 contiguous columns per k.
            float* src = FastMath.Address(b, bBase + j0);
            for (int k = 0; k < g.K; k++, src += g.Ldb, dst += GemmPanel)
            {
                if (cols == GemmPanel)
                {
                    Vector512.Load(src).Store(dst);
                    Vector512.Load(src + 16).Store(dst + 16);
                }
                else new Span<float>(src, cols).CopyTo(new Span<float>(dst, cols));
            }
            return;
        }
        // B stored (N, K) (a Linear layer's weight): each panel column is a contiguous row of the stored
        // matrix. Whole 8x8 blocks are transposed in registers (a scalar strided copy cost a quarter of a
        // batch-1 ViT forward); the ragged edges are copied element by element.
        float* rows = FastMath.Address(b, bBase + j0 * g.Ldb);
        int fullRows = Avx.IsSupported ? cols & ~7 : 0, fullK = Avx.IsSupported ? g.K & ~7 : 0;
        for (int jj = 0; jj < fullRows; jj += 8)
            for (int k = 0; k < fullK; k += 8)
                Transpose8x8(rows + jj * g.Ldb + k, g.Ldb, dst + k * GemmPanel + jj, GemmPanel);
        for (int jj = 0; jj < cols; jj++)
        {
            float* src = rows + jj * g.Ldb;
            for (int k = jj < fullRows ? fullK : 0; k < g.K; k++) dst[k * GemmPanel + jj] = src[k];
        }
    }

    /// <summary>Writes the transpose of the 8x8 block at <paramref name="src"/> (rows <paramref name="ld"/> apart) to <paramref name="dst"/> (rows <paramref name="ldd"/> apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* src, int ld, float* dst, int ldd)
    {
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: 24 shuffles for 64 elements.
        var t0 = Avx.UnpackLow(Avx.LoadVector256(src), Avx.LoadVector256(src + ld));
        var t1 = Avx.UnpackHigh(Avx.LoadVector256(src), Avx.LoadVector256(src + ld));
        var t2 = Avx.UnpackLow(Avx.LoadVector256(src + 2 * ld), Avx.LoadVector256(src + 3 * ld));
        var t3 = Avx.UnpackHigh(Avx.LoadVector256(src + 2 * ld), Avx.LoadVector256(src + 3 * ld));
        var t4 = Avx.UnpackLow(Avx.LoadVector256(src + 4 * ld), Avx.LoadVector256(src + 5 * ld));
        var t5 = Avx.UnpackHigh(Avx.LoadVector256(src + 4 * ld), Avx.LoadVector256(src + 5 * ld));
        var t6 = Avx.UnpackLow(Avx.LoadVector256(src + 6 * ld), Avx.LoadVector256(src + 7 * ld));
        var t7 = Avx.UnpackHigh(Avx.LoadVector256(src + 6 * ld), Avx.LoadVector256(src + 7 * ld));
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    internal static void GemmPackPanelPortable(ArrayView<float> b, ArrayView<float> packed, GemmArgs g, int bBase, int panelOffset, int j0)
    {
        int cols = Math.Min(GemmPanel, g.N - j0);
        for (int k = 0; k < g.K; k++)
            for (int jj = 0; jj < GemmPanel; jj++)
                packed[panelOffset + k * GemmPanel + jj] = jj < cols ? b[g.BIndex(bBase, k, j0 + jj)] : 0f;
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(GemmTilePortable))]
    internal static unsafe void GemmTile(ArrayView<float> a, ArrayView<float> packed, ArrayView<float> c,
        ArrayView<float> bias, ArrayView<float> residual, GemmArgs g, int z, int i0, int j0, int panelOffset)
    {
        int rows = Math.Min(GemmRows, g.M - i0);
        int rs = g.TransA != 0 ? 1 : g.Lda, ks = g.TransA != 0 ? g.Lda : 1;
        int cols = Math.Min(GemmPanel, g.N - j0);
        int cRow = g.CBase(z) + i0 * g.Ldc + j0;
        float* cp = FastMath.Address(c, 0), bs = FastMath.Address(bias, 0), rp = FastMath.Address(residual, 0);
        // A whole tile goes from the accumulators straight to C; a ragged one through scratch rows.
        bool whole = rows == GemmRows && cols == GemmPanel;
        float* tile = stackalloc float[whole ? 0 : GemmRows * GemmPanel];
        GemmMicroTile(FastMath.Address(a, g.AIndex(g.ABase(z), i0, 0)), rows, rs, ks,
            FastMath.Address(packed, panelOffset), g.K, tile, whole ? cp + cRow : null, g, bs + j0, rp + cRow);
        if (whole) return;
        for (int r = 0; r < rows; r++)
            GemmStoreRow(g, cp, bs, rp, cRow + r * g.Ldc, j0, cols, tile + r * GemmPanel);
    }

    // The 8x32 micro-kernel: tile = A(8 rows, K) x packed panel (K, 32). Element (r, k) of A sits at
    // a[r * rs + k * ks]; rows past `rows` repeat the last row. A method of its own, so the JIT keeps
    // all 16 accumulators in registers (inlined into the epilogue code, it spilled them every k).
    // Given c (a whole tile), it applies the epilogue and stores the rows there (row stride ldc; bias
    // and residual as GemmStoreRow takes them); otherwise it leaves the raw tile in `tile`.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GemmMicroTile(float* a, int rows, int rs, int ks, float* bp, int k, float* tile,
        float* c, in GemmArgs g, float* bias, float* residual)
    {
        float* a0 = a, a1 = a + Math.Min(1, rows - 1) * rs, a2 = a + Math.Min(2, rows - 1) * rs, a3 = a + Math.Min(3, rows - 1) * rs;
        float* a4 = a + Math.Min(4, rows - 1) * rs, a5 = a + Math.Min(5, rows - 1) * rs, a6 = a + Math.Min(6, rows - 1) * rs;
        float* a7 = a + Math.Min(7, rows - 1) * rs;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        nint kk = 0, step = ks;
        for (int p = 0; p < k; p++, kk += step, bp += GemmPanel)
        {
            var b0 = Vector512.Load(bp);
            var b1 = Vector512.Load(bp + 16);
            var v = Vector512.Create(a0[kk]); c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
            v = Vector512.Create(a1[kk]); c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
            v = Vector512.Create(a2[kk]); c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
            v = Vector512.Create(a3[kk]); c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
            v = Vector512.Create(a4[kk]); c40 = Vector512.FusedMultiplyAdd(v, b0, c40); c41 = Vector512.FusedMultiplyAdd(v, b1, c41);
            v = Vector512.Create(a5[kk]); c50 = Vector512.FusedMultiplyAdd(v, b0, c50); c51 = Vector512.FusedMultiplyAdd(v, b1, c51);
            v = Vector512.Create(a6[kk]); c60 = Vector512.FusedMultiplyAdd(v, b0, c60); c61 = Vector512.FusedMultiplyAdd(v, b1, c61);
            v = Vector512.Create(a7[kk]); c70 = Vector512.FusedMultiplyAdd(v, b0, c70); c71 = Vector512.FusedMultiplyAdd(v, b1, c71);
        }
        if (c != null)
        {
            int ldc = g.Ldc;
            GemmStoreWhole(g, c00, c01, c, bias, residual);
            GemmStoreWhole(g, c10, c11, c + ldc, bias, residual + ldc);
            GemmStoreWhole(g, c20, c21, c + 2 * ldc, bias, residual + 2 * ldc);
            GemmStoreWhole(g, c30, c31, c + 3 * ldc, bias, residual + 3 * ldc);
            GemmStoreWhole(g, c40, c41, c + 4 * ldc, bias, residual + 4 * ldc);
            GemmStoreWhole(g, c50, c51, c + 5 * ldc, bias, residual + 5 * ldc);
            GemmStoreWhole(g, c60, c61, c + 6 * ldc, bias, residual + 6 * ldc);
            GemmStoreWhole(g, c70, c71, c + 7 * ldc, bias, residual + 7 * ldc);
            return;
        }
        c00.Store(tile); c01.Store(tile + 16); c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80); c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144); c50.Store(tile + 160); c51.Store(tile + 176);
        c60.Store(tile + 192); c61.Store(tile + 208); c70.Store(tile + 224); c71.Store(tile + 240);
    }

    // Applies the epilogue to one whole row of a tile (lo, hi: its 32 columns) and stores it at c.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GemmStoreWhole(in GemmArgs g, Vector512<float> lo, Vector512<float> hi, float* c, float* bias, float* residual)
    {
        GemmEpilogue(g, lo, c, bias, residual).Store(c);
        GemmEpilogue(g, hi, c + 16, bias + 16, residual + 16).Store(c + 16);
    }

    // Applies the epilogue to 32 accumulated columns (acc) and stores the first `cols` of them at c[index..].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GemmStoreRow(in GemmArgs g, float* c, float* bias, float* residual, int index, int j0, int cols, float* acc)
    {
        var lo = Vector512.Load(acc);
        var hi = Vector512.Load(acc + 16);
        if (cols == GemmPanel)
        {
            GemmStoreWhole(g, lo, hi, c + index, bias + j0, residual + index);
            return;
        }
        // Ragged panel: stage the valid columns in zero-padded scratch rows, so loads stay in bounds.
        float* cs = stackalloc float[GemmPanel], bs = stackalloc float[GemmPanel], rs = stackalloc float[GemmPanel];
        for (int j = 0; j < GemmPanel; j++)
        {
            bool valid = j < cols;
            cs[j] = valid && g.Accumulate != 0 ? c[index + j] : 0f;
            bs[j] = valid && g.HasBias != 0 ? bias[j0 + j] : 0f;
            rs[j] = valid && g.HasResidual != 0 ? residual[index + j] : 0f;
        }
        GemmEpilogue(g, lo, cs, bs, rs).Store(cs);
        GemmEpilogue(g, hi, cs + 16, bs + 16, rs + 16).Store(cs + 16);
        for (int j = 0; j < cols; j++) c[index + j] = cs[j];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> GemmEpilogue(in GemmArgs g, Vector512<float> acc, float* c, float* bias, float* residual)
    {
        var v = acc * Vector512.Create(g.Alpha);
        if (g.Accumulate != 0) v += Vector512.Load(c);
        if (g.HasBias != 0) v += Vector512.Load(bias);
        if (g.Gelu != 0) v = FastMath.Gelu(v);
        if (g.HasResidual != 0) v += Vector512.Load(residual);
        return v;
    }

    internal static void GemmTilePortable(ArrayView<float> a, ArrayView<float> packed, ArrayView<float> c,
        ArrayView<float> bias, ArrayView<float> residual, GemmArgs g, int z, int i0, int j0, int panelOffset)
    {
        int rows = Math.Min(GemmRows, g.M - i0), cols = Math.Min(GemmPanel, g.N - j0);
        int aBase = g.ABase(z), cBase = g.CBase(z);
        for (int r = 0; r < rows; r++)
            for (int jj = 0; jj < cols; jj++)
            {
                float acc = 0f;
                for (int k = 0; k < g.K; k++)
                    acc += a[g.AIndex(aBase, i0 + r, k)] * packed[panelOffset + k * GemmPanel + jj];
                GemmStore(c, bias, residual, g, cBase + (i0 + r) * g.Ldc + j0 + jj, j0 + jj, acc);
            }
    }
}
