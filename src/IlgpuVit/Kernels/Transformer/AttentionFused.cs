// Fused attention forward on GPUs (docs/backends.md, "GPU GEMM and attention"): O = softmax(s Q Kᵀ + bias) V
// without writing P, by the online softmax of FlashAttention. One thread group per (image, head, query tile),
// one thread per query row. Per key tile of FusedAttentionKeyTile keys, the group stages K and V (keys × d)
// in shared memory (consecutive threads load consecutive columns of a key: coalesced), then each thread
//   s_j = q·k_j + bias_j            (q pre-scaled by s)
//   m' = max(m, max_j s_j),  α = exp(m − m'),  l = α l + Σ_j exp(s_j − m'),  o = α o + Σ_j exp(s_j − m') v_j
// and at the end O = o / l. All threads read the same shared word at once (a broadcast, no bank conflicts).
// Shared memory: two tiles of 32 keys × 128 floats = 32 KiB per group. fp32 throughout.
// The composed path (Attention.cs) is the test oracle; it and the backward still need P.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>The largest head dimension the fused attention kernel holds per thread; larger heads compose through P.</summary>
    public const int FusedAttentionMaxHeadDim = 128;

    private const int FusedAttentionKeyTile = 32;
    private const int FusedAttentionTileWords = FusedAttentionKeyTile * FusedAttentionMaxHeadDim;

    private static void AttentionForwardFused(Device device, Tensor<float> qkv, AttentionArgs g, Tensor<float>? keyBias, Tensor<float> output)
    {
        var launch = device.Kernel(static (acc, _) => acc.LoadKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(AttentionFusedKernel));
        // Query tiles of a warp on the simulator (each thread is an OS thread there), two warps on GPUs. Pairs on the
        // grid's x axis (2³¹ − 1 blocks), query tiles on y (65535: T up to 4M at 64 rows).
        int rows = device.SimulatesGpu ? 32 : 64;
        var grid = new Index2D(g.Batch * g.Heads, (g.Tokens + rows - 1) / rows);
        launch(device.Accelerator.DefaultStream, new KernelConfig(grid, new Index2D(rows, 1)), qkv.View, (keyBias ?? qkv).View, output.View, g);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AttentionFusedKernel(ArrayView<float> qkv, ArrayView<float> bias, ArrayView<float> output, AttentionArgs g)
    {
        var keys = SharedMemory.Allocate<float>(FusedAttentionTileWords);     // (key, d) row-major, stride d
        var values = SharedMemory.Allocate<float>(FusedAttentionTileWords);   // (key, d) row-major, stride d
        var q = LocalMemory.Allocate<float>(FusedAttentionMaxHeadDim);
        var o = LocalMemory.Allocate<float>(FusedAttentionMaxHeadDim);
        var s = LocalMemory.Allocate<float>(FusedAttentionKeyTile);
        int t = g.Tokens, d = g.HeadDim, c = g.Channels, ld = 3 * c;
        int z = Grid.IdxX, i = Grid.IdxY * Group.DimX + Group.IdxX;
        bool active = i < t;   // rows past T still load tiles and meet every barrier
        long qBase = g.QOffset(z), kBase = qBase + c, vBase = qBase + 2 * c, bBase = g.BiasOffset(z);
        for (int e = 0; e < d; e++)
        {
            q[e] = active ? qkv[qBase + (long)i * ld + e] * g.Scale : 0f;
            o[e] = 0f;
        }
        float m = float.NegativeInfinity, l = 0f;
        for (int j0 = 0; j0 < t; j0 += FusedAttentionKeyTile)
        {
            int n = Math.Min(FusedAttentionKeyTile, t - j0);
            Group.Barrier();   // the previous tile has been read by every thread
            for (int x = Group.IdxX; x < n * d; x += Group.DimX)
            {
                int j = x / d, e = x - j * d;
                long at = (long)(j0 + j) * ld + e;
                keys[x] = qkv[kBase + at];
                values[x] = qkv[vBase + at];
            }
            Group.Barrier();
            if (!active) continue;
            // Scores of the tile and their maximum.
            float tileMax = float.NegativeInfinity;
            for (int j = 0; j < n; j++)
            {
                float dot = g.HasBias != 0 ? bias[bBase + j0 + j] : 0f;
                for (int e = 0; e < d; e++) dot += q[e] * keys[j * d + e];
                s[j] = dot;
                tileMax = MathF.Max(tileMax, dot);
            }
            // Rescale what came before to the new maximum (α = 0 on the first tile), then add the tile.
            float mNew = MathF.Max(m, tileMax);
            float alpha = MathF.Exp(m - mNew);
            l *= alpha;
            for (int j = 0; j < n; j++)
            {
                float p = MathF.Exp(s[j] - mNew);
                s[j] = p;
                l += p;
            }
            for (int e = 0; e < d; e++)
            {
                float acc = o[e] * alpha;
                for (int j = 0; j < n; j++) acc += s[j] * values[j * d + e];
                o[e] = acc;
            }
            m = mNew;
        }
        if (!active) return;
        float inv = 1f / l;
        long oBase = g.OOffset(z) + (long)i * c;
        for (int e = 0; e < d; e++) output[oBase + e] = o[e] * inv;
    }
}
