// The tile shapes of the GPU GEMM (GemmTiled.cs) and the rule that picks one per problem.
// Every tile runs 16x16 = 256 threads; a thread owns a (BlockM/16) x (BlockN/16) register block.
// See docs/backends.md, "GPU GEMM and attention".

namespace IlgpuVit.Kernels;

/// <summary>The constants of one GEMM tile shape; implemented by empty structs so one generic kernel serves every shape.</summary>
internal interface IGemmTile
{
    /// <summary>Rows of C one thread group computes (a multiple of 16, at most 128).</summary>
    int BlockM { get; }

    /// <summary>Columns of C one thread group computes (a multiple of 16, at most 128).</summary>
    int BlockN { get; }
}

/// <summary>128x128 per group, 8x8 per thread: the most reuse, for large products.</summary>
internal readonly struct GemmTile128x128 : IGemmTile
{
    public int BlockM => 128;
    public int BlockN => 128;
}

/// <summary>128x64 per group, 8x4 per thread.</summary>
internal readonly struct GemmTile128x64 : IGemmTile
{
    public int BlockM => 128;
    public int BlockN => 64;
}

/// <summary>64x64 per group, 4x4 per thread: more groups for small products.</summary>
internal readonly struct GemmTile64x64 : IGemmTile
{
    public int BlockM => 64;
    public int BlockN => 64;
}

/// <summary>The tile shapes <see cref="Ops.ChooseGemmTile"/> picks from, largest first.</summary>
internal enum GemmTileShape { Tile128x128, Tile128x64, Tile64x64 }

public static partial class Ops
{
    /// <summary>
    /// The largest tile whose grid still gives every multiprocessor at least one group: big tiles reuse
    /// each loaded element more, but a grid smaller than the device leaves multiprocessors idle. ViT's
    /// M = B * 197 is rarely a multiple of 128, so edge groups are partly empty (the kernel checks bounds).
    /// </summary>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="smCount">Multiprocessors (CUDA SMs, OpenCL compute units) of the device.</param>
    /// <param name="batches">Matrices in the launch (batch x heads).</param>
    internal static GemmTileShape ChooseGemmTile(int m, int n, int smCount, int batches = 1)
    {
        long Groups(int bm, int bn) => (long)((m + bm - 1) / bm) * ((n + bn - 1) / bn) * batches;
        if (Groups(128, 128) >= smCount) return GemmTileShape.Tile128x128;
        if (Groups(128, 64) >= smCount) return GemmTileShape.Tile128x64;
        return GemmTileShape.Tile64x64;
    }
}
