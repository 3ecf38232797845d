// GEMM on GPUs (CUDA, OpenCL; see Gemm.cs for the contract and docs/backends.md, "GPU GEMM and
// attention"): one generic kernel for every tile shape of GemmTiles.cs. A 16x16 thread group computes
// a BlockM x BlockN tile of C; thread (tx, ty) owns rows ty + 16r and columns tx + 16c, so threads of
// a warp read neighbouring shared-memory words (no bank conflicts) and write neighbouring columns of C.
//
// K is walked in slices of 16, double-buffered in shared memory: while the group computes slice t from
// one buffer it loads slice t + 1 into the other, so one barrier per slice suffices. Loads follow the
// stored layout (consecutive threads read consecutive addresses, coalesced); each shared row is padded
// by one word so the transposing stores of a row-major operand hit distinct banks.
// Tests run this kernel on the CPU accelerator shaped like a GPU (Device.OpenGpuSimulator).

using ILGPU.Util;
using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    private const int GemmSlice = 16, GemmThreads = 16, GemmMaxBlock = 128;

    // Shared memory is sized for the largest tile: ILGPU needs a literal length.
    private const int GemmSharedWords = 2 * GemmSlice * (GemmMaxBlock + 1);

    private static void GemmTiled(Device device, GemmArgs g, int batches, GemmTileShape tile,
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> residual)
    {
        switch (tile)
        {
            case GemmTileShape.Tile128x128: LaunchGemmTiled<GemmTile128x128>(device, g, batches, a, b, c, bias, residual); break;
            case GemmTileShape.Tile128x64: LaunchGemmTiled<GemmTile128x64>(device, g, batches, a, b, c, bias, residual); break;
            default: LaunchGemmTiled<GemmTile64x64>(device, g, batches, a, b, c, bias, residual); break;
        }
    }

    private static void LaunchGemmTiled<TTile>(Device device, GemmArgs g, int batches,
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> residual)
        where TTile : struct, IGemmTile
    {
        // A static lambda of a generic method is one delegate per tile type, so each shape is loaded once per device.
        var launch = device.Kernel(static (acc, _) => acc.LoadKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmTiledKernel<TTile>));
        int bm = default(TTile).BlockM, bn = default(TTile).BlockN;
        // float4 loads need every row of an operand to start on 16 bytes: the view, the offset, the strides.
        g.VectorA = GemmAligned(a, g.AOffset, g.Lda, g.ABatch, g.AHead);
        g.VectorB = GemmAligned(b, g.BOffset, g.Ldb, g.BBatch, g.BHead);
        var grid = new Index3D((g.N + bn - 1) / bn, (g.M + bm - 1) / bm, batches);
        launch(device.Accelerator.DefaultStream, new KernelConfig(grid, new Index3D(GemmThreads, GemmThreads, 1)), a, b, c, bias, residual, g);
    }

    private static int GemmAligned(ArrayView<float> view, int offset, int ld, int batch, int head) =>
        ((IContiguousArrayView)view).IndexInBytes % 16 == 0 && (offset | ld | batch | head) % 4 == 0 ? 1 : 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GemmTiledKernel<TTile>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias, ArrayView<float> residual, GemmArgs g)
        where TTile : struct, IGemmTile
    {
        int bm = default(TTile).BlockM, bn = default(TTile).BlockN;
        int tm = bm / GemmThreads, tn = bn / GemmThreads;
        int pa = bm + 1, pb = bn + 1;                     // padded shared rows
        var tileA = SharedMemory.Allocate<float>(GemmSharedWords);   // [buffer][kk][i]
        var tileB = SharedMemory.Allocate<float>(GemmSharedWords);   // [buffer][kk][j]
        var acc = LocalMemory.Allocate<float>(64);
        var ra = LocalMemory.Allocate<float>(8);
        var rb = LocalMemory.Allocate<float>(8);
        int tx = Group.IdxX, ty = Group.IdxY, lid = ty * GemmThreads + tx;
        int j0 = Grid.IdxX * bn, i0 = Grid.IdxY * bm, z = Grid.IdxZ;
        int aBase = g.ABase(z), bBase = g.BBase(z);
        for (int e = 0; e < tm * tn; e++) acc[e] = 0f;

        int slices = (g.K + GemmSlice - 1) / GemmSlice;
        GemmLoadSlice(a, b, g, tileA, tileB, 0, 0, aBase, bBase, i0, j0, lid, bm, bn, pa, pb);
        Group.Barrier();
        for (int t = 0; t < slices; t++)
        {
            int cur = t & 1;
            // The other buffer was last read before the previous barrier, so it can be refilled now.
            if (t + 1 < slices)
                GemmLoadSlice(a, b, g, tileA, tileB, 1 - cur, (t + 1) * GemmSlice, aBase, bBase, i0, j0, lid, bm, bn, pa, pb);
            int offA = cur * GemmSlice * pa, offB = cur * GemmSlice * pb;
            for (int kk = 0; kk < GemmSlice; kk++)
            {
                for (int r = 0; r < tm; r++) ra[r] = tileA[offA + kk * pa + ty + GemmThreads * r];
                for (int q = 0; q < tn; q++) rb[q] = tileB[offB + kk * pb + tx + GemmThreads * q];
                for (int r = 0; r < tm; r++)
                    for (int q = 0; q < tn; q++)
                        acc[r * tn + q] += ra[r] * rb[q];
            }
            Group.Barrier();
        }
        int cBase = g.CBase(z);
        for (int r = 0; r < tm; r++)
        {
            int i = i0 + ty + GemmThreads * r;
            for (int q = 0; q < tn; q++)
            {
                int j = j0 + tx + GemmThreads * q;
                if (i < g.M && j < g.N) GemmStore(c, bias, residual, g, cBase + i * g.Ldc + j, j, acc[r * tn + q]);
            }
        }
    }

    /// <summary>Stages op(A)[i0.., k0..k0+16) and op(B)[k0.., j0..) in shared buffer <paramref name="buffer"/>, zero outside the matrices.</summary>
    private static void GemmLoadSlice(ArrayView<float> a, ArrayView<float> b, GemmArgs g,
        ArrayView<float> tileA, ArrayView<float> tileB, int buffer, int k0, int aBase, int bBase,
        int i0, int j0, int lid, int bm, int bn, int pa, int pb)
    {
        int offA = buffer * GemmSlice * pa, offB = buffer * GemmSlice * pb;
        // Each operand is read along its stored rows (the contiguous index c), which are k for row-major A and i for
        // transposed A, j for row-major B and k for transposed B. The tiles are [k][i] and [k][j], so row-major A and
        // transposed B are stored transposed.
        if (g.TransA != 0) GemmStage(a, aBase, g.Lda, g.VectorA, i0, bm, g.M, k0, GemmSlice, g.K, tileA, offA, pa, 0, lid);
        else GemmStage(a, aBase, g.Lda, g.VectorA, k0, GemmSlice, g.K, i0, bm, g.M, tileA, offA, pa, 1, lid);
        if (g.TransB != 0) GemmStage(b, bBase, g.Ldb, g.VectorB, k0, GemmSlice, g.K, j0, bn, g.N, tileB, offB, pb, 1, lid);
        else GemmStage(b, bBase, g.Ldb, g.VectorB, j0, bn, g.N, k0, GemmSlice, g.K, tileB, offB, pb, 0, lid);
    }

    /// <summary>
    /// Copies elements (c0 + c, r0 + r), c &lt; cCount, r &lt; rCount, of an operand stored at src[at + r·ld + c] into
    /// tile[off + r·pad + c] (or tile[off + c·pad + r] with <paramref name="transpose"/>), zero past cExtent or rExtent.
    /// With <paramref name="vector"/> (at, ld and the view's start are multiples of 4, checked by the launcher) each
    /// thread moves 4 consecutive c at once, by one float4 load where all 4 lie inside the matrix and by scalars at its
    /// edge; consecutive threads still take consecutive addresses.
    /// </summary>
    private static void GemmStage(ArrayView<float> src, int at, int ld, int vector, int c0, int cCount, int cExtent,
        int r0, int rCount, int rExtent, ArrayView<float> tile, int off, int pad, int transpose, int lid)
    {
        const int threads = GemmThreads * GemmThreads;
        int width = vector != 0 ? 4 : 1;
        int perRow = cCount / width;   // cCount is 16 or a tile side: a multiple of 4
        var quads = src.Cast<Float4>();
        for (int idx = lid; idx < perRow * rCount; idx += threads)
        {
            int c = idx % perRow * width, r = idx / perRow;
            int gc = c0 + c, gr = r0 + r;
            int start = at + gr * ld + gc;
            float x0 = 0f, x1 = 0f, x2 = 0f, x3 = 0f;
            if (gr < rExtent)
            {
                if (width == 4 && gc + 3 < cExtent)
                {
                    var q = quads[start / 4];
                    x0 = q.X; x1 = q.Y; x2 = q.Z; x3 = q.W;
                }
                else
                {
                    if (gc < cExtent) x0 = src[start];
                    if (width == 4 && gc + 1 < cExtent) x1 = src[start + 1];
                    if (width == 4 && gc + 2 < cExtent) x2 = src[start + 2];
                }
            }
            GemmPut(tile, off, pad, transpose, r, c, x0);
            if (width == 1) continue;
            GemmPut(tile, off, pad, transpose, r, c + 1, x1);
            GemmPut(tile, off, pad, transpose, r, c + 2, x2);
            GemmPut(tile, off, pad, transpose, r, c + 3, x3);
        }
    }

    private static void GemmPut(ArrayView<float> tile, int off, int pad, int transpose, int r, int c, float x) =>
        tile[off + (transpose != 0 ? c * pad + r : r * pad + c)] = x;
}
