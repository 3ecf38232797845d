// GEMM on GPUs (CUDA, OpenCL; see Gemm.cs for the contract): one 16x16 thread group per 64x64
// tile of C. Each step stages a 64x16 slice of op(A) and a 16x64 slice of op(B) in shared memory
// (loads follow the stored layout so neighbouring threads read neighbouring addresses), then every
// thread accumulates a 4x4 register block, rows ty + 16r and columns tx + 16c.
// Tests run this kernel on the CPU accelerator shaped like a GPU (Device.OpenGpuSimulator).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    private const int TileSize = 64, TileK = 16, TileThreads = 16;

    private static void GemmTiled(Device device, GemmArgs g, int batches,
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, ArrayView<float> residual)
    {
        var launch = device.Kernel(static (acc, _) => acc.LoadKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmTiledKernel));
        var grid = new Index3D((g.N + TileSize - 1) / TileSize, (g.M + TileSize - 1) / TileSize, batches);
        launch(device.Accelerator.DefaultStream, new KernelConfig(grid, new Index3D(TileThreads, TileThreads, 1)), a, b, c, bias, residual, g);
    }

    internal static void GemmTiledKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias, ArrayView<float> residual, GemmArgs g)
    {
        var tileA = SharedMemory.Allocate<float>(TileK * TileSize);   // [kk][i]
        var tileB = SharedMemory.Allocate<float>(TileK * TileSize);   // [kk][j]
        int tx = Group.IdxX, ty = Group.IdxY, lid = ty * TileThreads + tx;
        int j0 = Grid.IdxX * TileSize, i0 = Grid.IdxY * TileSize, z = Grid.IdxZ;
        int aBase = g.ABase(z), bBase = g.BBase(z);
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int k0 = 0; k0 < g.K; k0 += TileK)
        {
            for (int e = 0; e < TileK * TileSize / (TileThreads * TileThreads); e++)
            {
                int idx = lid + e * TileThreads * TileThreads;
                // A slice: walk k fastest when A is row-major, i fastest when it is stored transposed.
                int ai = g.TransA != 0 ? idx % TileSize : idx / TileK;
                int ak = g.TransA != 0 ? idx / TileSize : idx % TileK;
                tileA[ak * TileSize + ai] = i0 + ai < g.M && k0 + ak < g.K ? a[g.AIndex(aBase, i0 + ai, k0 + ak)] : 0f;
                int bj = g.TransB != 0 ? idx / TileK : idx % TileSize;
                int bk = g.TransB != 0 ? idx % TileK : idx / TileSize;
                tileB[bk * TileSize + bj] = j0 + bj < g.N && k0 + bk < g.K ? b[g.BIndex(bBase, k0 + bk, j0 + bj)] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < TileK; kk++)
            {
                int row = kk * TileSize;
                float a0 = tileA[row + ty], a1 = tileA[row + ty + 16], a2 = tileA[row + ty + 32], a3 = tileA[row + ty + 48];
                float b0 = tileB[row + tx], b1 = tileB[row + tx + 16], b2 = tileB[row + tx + 32], b3 = tileB[row + tx + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }
        int cBase = g.CBase(z), i = i0 + ty, j = j0 + tx;
        GemmStoreInside(c, bias, residual, g, cBase, i, j, c00); GemmStoreInside(c, bias, residual, g, cBase, i, j + 16, c01);
        GemmStoreInside(c, bias, residual, g, cBase, i, j + 32, c02); GemmStoreInside(c, bias, residual, g, cBase, i, j + 48, c03);
        GemmStoreInside(c, bias, residual, g, cBase, i + 16, j, c10); GemmStoreInside(c, bias, residual, g, cBase, i + 16, j + 16, c11);
        GemmStoreInside(c, bias, residual, g, cBase, i + 16, j + 32, c12); GemmStoreInside(c, bias, residual, g, cBase, i + 16, j + 48, c13);
        GemmStoreInside(c, bias, residual, g, cBase, i + 32, j, c20); GemmStoreInside(c, bias, residual, g, cBase, i + 32, j + 16, c21);
        GemmStoreInside(c, bias, residual, g, cBase, i + 32, j + 32, c22); GemmStoreInside(c, bias, residual, g, cBase, i + 32, j + 48, c23);
        GemmStoreInside(c, bias, residual, g, cBase, i + 48, j, c30); GemmStoreInside(c, bias, residual, g, cBase, i + 48, j + 16, c31);
        GemmStoreInside(c, bias, residual, g, cBase, i + 48, j + 32, c32); GemmStoreInside(c, bias, residual, g, cBase, i + 48, j + 48, c33);
    }

    private static void GemmStoreInside(ArrayView<float> c, ArrayView<float> bias, ArrayView<float> residual,
        GemmArgs g, int cBase, int i, int j, float acc)
    {
        if (i < g.M && j < g.N) GemmStore(c, bias, residual, g, cBase + i * g.Ldc + j, j, acc);
    }
}
