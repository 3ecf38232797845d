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
        var grid = new Index3D((g.N + bn - 1) / bn, (g.M + bm - 1) / bm, batches);
        launch(device.Accelerator.DefaultStream, new KernelConfig(grid, new Index3D(GemmThreads, GemmThreads, 1)), a, b, c, bias, residual, g);
    }

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
        const int threads = GemmThreads * GemmThreads;
        int offA = buffer * GemmSlice * pa, offB = buffer * GemmSlice * pb;
        for (int idx = lid; idx < GemmSlice * bm; idx += threads)
        {
            // Walk k fastest when A is row-major, i fastest when it is stored transposed.
            int ai = g.TransA != 0 ? idx % bm : idx / GemmSlice;
            int ak = g.TransA != 0 ? idx / bm : idx % GemmSlice;
            tileA[offA + ak * pa + ai] = i0 + ai < g.M && k0 + ak < g.K ? a[g.AIndex(aBase, i0 + ai, k0 + ak)] : 0f;
        }
        for (int idx = lid; idx < GemmSlice * bn; idx += threads)
        {
            int bj = g.TransB != 0 ? idx / GemmSlice : idx % bn;
            int bk = g.TransB != 0 ? idx % GemmSlice : idx / bn;
            tileB[offB + bk * pb + bj] = j0 + bj < g.N && k0 + bk < g.K ? b[g.BIndex(bBase, k0 + bk, j0 + bj)] : 0f;
        }
    }
}
