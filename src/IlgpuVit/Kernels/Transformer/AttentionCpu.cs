// Attention on the CPU accelerator (see Attention.cs for the contract and the maths).
// One kernel index runs the whole of a few (image, head) pairs. Per pair it stages the head's
// operands in its own scratch region, zero-padded to rows of 16-lane multiples (Qᵀ or Vᵀ as (d, Tp),
// V, K, Q, dO as (T, dp)), so every product is a broadcast-FMA over contiguous 16-lane chunks:
//   C (rows, 16·V) = Σ_k A(r, k) · B(k, :),   A read by scalar broadcasts at any strides (so Aᵀ is free).
// The forward keeps the scores transposed (keys down, queries across), so its softmax runs down columns; the
// padded query columns are never read. The backward's padded key columns of P are zero and add nothing.
// The head (a few KiB to a few hundred KiB) stays in L1/L2 from the first product to the last;
// the GEMM path instead streams S and dS through memory and packs B for every 50x50x16 matrix.
// Every helper is compiled optimised at its first call: a tier-0 body of this vector code ran several times slower
// for the first hundreds of launches. Results leave the scratch through StoreHead, whose scalar tail never writes past the head's d
// columns (a neighbouring head may belong to another task). No atomics: deterministic.

using System.Runtime.Intrinsics.X86;
using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    // Forward of pairs [first, first + count): see the file comment. Scratch layout: AttentionArgs.ForwardScratch.
    // The scores are computed transposed, Sᵀ = K Qᵀ (keys down, 16 queries per vector), so the softmax over the keys
    // of 16 queries at once is vertical: maxima and sums are lane-wise across rows, with no horizontal reduction per
    // query row (those serial chains, not the exps, had bounded the row-wise softmax at small T). O = P V then
    // reads P(i, j) = Pᵀ[j, i] by scalar broadcasts, which the product takes at any strides.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(AttentionHeadsPortable))]
    internal static unsafe void AttentionHeads(ArrayView<float> qkv, ArrayView<float> bias, ArrayView<float> probabilities,
        ArrayView<float> output, ArrayView<float> clsAttention, ArrayView<float> headMeanKeys, ArrayView<float> scratch, AttentionArgs g,
        int first, int count, long scratchOffset)
    {
        int t = g.Tokens, d = g.HeadDim, tp = g.PaddedTokens, dp = g.PaddedDim, c = g.Channels, ld = 3 * c;
        float* qt = FastMath.Address(scratch, scratchOffset);   // Qᵀ (d, Tp), queries past T zero
        float* vs = qt + d * tp;                                  // V (T, dp)
        float* bs = vs + t * dp;                                  // key bias (T): the bias row or 0
        float* st = bs + tp;                                      // Sᵀ, then Pᵀ (T, Tp)
        float* os = st + t * tp;                                  // O (T, dp)
        for (int z = first; z < first + count; z++)
        {
            float* q = FastMath.Address(qkv, g.QOffset(z));
            StageTransposed(q, t, d, ld, qt, tp);
            StageRows(q + 2 * c, t, d, ld, vs, dp);
            if (g.HasBias != 0) new Span<float>(FastMath.Address(bias, g.BiasOffset(z)), t).CopyTo(new Span<float>(bs, t));
            else new Span<float>(bs, t).Clear();

            AttentionProduct(q + c, t, ld, 1, qt, tp, d, tp, st, tp);                    // Sᵀ = K Qᵀ
            AttentionSoftmaxColumns(st, bs, t, tp, g.Scale);                              // Pᵀ = softmax over keys of s Sᵀ + bias
            if (g.SkipsProbabilities == 0) StageTransposed(st, t, t, tp, FastMath.Address(probabilities, g.POffset(z)), t);   // P (T, T)
            if (g.WritesClsAttention != 0)                                                                        // P's row 0: Pᵀ's column 0
            {
                float* cls = FastMath.Address(clsAttention, (long)z * t);
                for (int j = 0; j < t; j++) cls[j] = st[j * tp];
            }
            AttentionProduct(st, t, 1, tp, vs, dp, t, dp, os, dp);                         // O = P V
            StoreHead(os, dp, t, d, FastMath.Address(output, g.OOffset(z)), c, 1f, 0);
            if (g.WritesHeadMeanKeys != 0 && z % g.Heads == g.Heads - 1)                  // the image's keys are still in cache
                HeadMeanKeyRows(qkv, headMeanKeys, (long)(z / g.Heads) * t, t, g.Heads, d, 1);
        }
    }

    internal static void AttentionHeadsPortable(ArrayView<float> qkv, ArrayView<float> bias, ArrayView<float> probabilities,
        ArrayView<float> output, ArrayView<float> clsAttention, ArrayView<float> headMeanKeys, ArrayView<float> scratch, AttentionArgs g,
        int first, int count, long scratchOffset)
    {
        int t = g.Tokens, d = g.HeadDim, c = g.Channels;
        long ld = 3 * c;
        for (int z = first; z < first + count; z++)
        {
            long q = g.QOffset(z), k = q + c, v = q + 2 * c, p = g.POffset(z), o = g.OOffset(z), b = g.BiasOffset(z);
            for (int i = 0; i < t; i++)
            {
                long row = p + (long)i * t;
                // S row (Q Kᵀ), P row = softmax(s S + bias) in place, then O row.
                for (int j = 0; j < t; j++)
                {
                    float s = 0f;
                    for (int e = 0; e < d; e++) s += qkv[q + i * ld + e] * qkv[k + j * ld + e];
                    probabilities[row + j] = s;
                }
                SoftmaxRowPortable(probabilities, probabilities, bias, row, b, t, g.Scale, g.HasBias);
                for (int e = 0; e < d; e++)
                {
                    float acc = 0f;
                    for (int j = 0; j < t; j++) acc += probabilities[row + j] * qkv[v + j * ld + e];
                    output[o + (long)i * c + e] = acc;
                }
            }
            if (g.WritesClsAttention != 0)
                for (int j = 0; j < t; j++) clsAttention[(long)z * t + j] = probabilities[p + j];
            if (g.WritesHeadMeanKeys != 0 && z % g.Heads == g.Heads - 1)
                HeadMeanKeyRowsPortable(qkv, headMeanKeys, (long)(z / g.Heads) * t, t, g.Heads, d, 1);
        }
    }

    // Backward of pairs [first, first + count). Scratch layout: AttentionArgs.BackwardScratch.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(AttentionHeadsBackwardPortable))]
    internal static unsafe void AttentionHeadsBackward(ArrayView<float> qkv, ArrayView<float> probabilities, ArrayView<float> dOutput,
        ArrayView<float> dQkv, ArrayView<float> scratch, AttentionArgs g, int first, int count, long scratchOffset)
    {
        int t = g.Tokens, d = g.HeadDim, tp = g.PaddedTokens, dp = g.PaddedDim, c = g.Channels, ld = 3 * c;
        float* vt = FastMath.Address(scratch, scratchOffset);   // Vᵀ (d, Tp)
        float* ks = vt + d * tp;                                  // K (T, dp)
        float* qs = ks + t * dp;                                  // Q (T, dp)
        float* dos = qs + t * dp;                                 // dO (T, dp)
        float* result = dos + t * dp;                             // dV, dQ, dK in turn (T, dp)
        float* ps = result + t * dp;                              // P (T, Tp), zero past T
        float* dss = ps + t * tp;                                 // dP, then dS (T, Tp)
        for (int z = first; z < first + count; z++)
        {
            float* q = FastMath.Address(qkv, g.QOffset(z));
            float* dO = FastMath.Address(dOutput, g.OOffset(z));
            float* dq = FastMath.Address(dQkv, g.QOffset(z));
            StageTransposed(q + 2 * c, t, d, ld, vt, tp);
            StageRows(q + c, t, d, ld, ks, dp);
            StageRows(q, t, d, ld, qs, dp);
            StageRows(dO, t, d, c, dos, dp);
            StageRows(FastMath.Address(probabilities, g.POffset(z)), t, t, t, ps, tp);

            AttentionProduct(dO, t, c, 1, vt, tp, d, tp, dss, tp);                         // dP = dO Vᵀ
            for (int i = 0; i < t; i++) SoftmaxBackwardRowPadded(ps + i * tp, dss + i * tp, tp);   // dS = P ⊙ (dP − rowsum(dP ⊙ P))
            AttentionProduct(ps, t, 1, tp, dos, dp, t, dp, result, dp);                    // dV = Pᵀ dO
            StoreHead(result, dp, t, d, dq + 2 * c, ld, 1f, g.Accumulate);
            AttentionProduct(dss, t, tp, 1, ks, dp, t, dp, result, dp);                    // dQ = s dS K
            StoreHead(result, dp, t, d, dq, ld, g.Scale, g.Accumulate);
            AttentionProduct(dss, t, 1, tp, qs, dp, t, dp, result, dp);                    // dK = s dSᵀ Q
            StoreHead(result, dp, t, d, dq + c, ld, g.Scale, g.Accumulate);
        }
    }

    internal static void AttentionHeadsBackwardPortable(ArrayView<float> qkv, ArrayView<float> probabilities, ArrayView<float> dOutput,
        ArrayView<float> dQkv, ArrayView<float> scratch, AttentionArgs g, int first, int count, long scratchOffset)
    {
        int t = g.Tokens, d = g.HeadDim, c = g.Channels;
        long ld = 3 * c, ds = scratchOffset;   // dS (T, T) in scratch
        for (int z = first; z < first + count; z++)
        {
            long q = g.QOffset(z), k = q + c, v = q + 2 * c, p = g.POffset(z), o = g.OOffset(z);
            for (int j = 0; j < t; j++)
                for (int e = 0; e < d; e++)
                {
                    float acc = 0f;   // dV = Pᵀ dO
                    for (int i = 0; i < t; i++) acc += probabilities[p + (long)i * t + j] * dOutput[o + (long)i * c + e];
                    StoreGradient(dQkv, v + j * ld + e, acc, 1f, g.Accumulate);
                }
            for (int i = 0; i < t; i++)
            {
                float dot = 0f;   // dP = dO Vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P))
                for (int j = 0; j < t; j++)
                {
                    float dP = 0f;
                    for (int e = 0; e < d; e++) dP += dOutput[o + (long)i * c + e] * qkv[v + j * ld + e];
                    scratch[ds + (long)i * t + j] = dP;
                    dot += dP * probabilities[p + (long)i * t + j];
                }
                for (int j = 0; j < t; j++)
                    scratch[ds + (long)i * t + j] = probabilities[p + (long)i * t + j] * (scratch[ds + (long)i * t + j] - dot);
            }
            for (int i = 0; i < t; i++)
                for (int e = 0; e < d; e++)
                {
                    float dQ = 0f, dK = 0f;   // dQ = s dS K (row i), dK = s dSᵀ Q (row i)
                    for (int j = 0; j < t; j++)
                    {
                        dQ += scratch[ds + (long)i * t + j] * qkv[k + j * ld + e];
                        dK += scratch[ds + (long)j * t + i] * qkv[q + j * ld + e];
                    }
                    StoreGradient(dQkv, q + i * ld + e, dQ, g.Scale, g.Accumulate);
                    StoreGradient(dQkv, k + i * ld + e, dK, g.Scale, g.Accumulate);
                }
        }
    }

    private static void StoreGradient(ArrayView<float> dst, long index, float value, float alpha, int accumulate) =>
        dst[index] = alpha * value + (accumulate != 0 ? dst[index] : 0f);

    // Copies `rows` rows of `cols` floats (row stride ld) into dst (row stride ldd ≥ cols, a multiple of 16),
    // zeroing columns cols..ldd. Whole vectors and masked tails: a memmove per row cost more than the copy.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StageRows(float* src, int rows, int cols, int ld, float* dst, int ldd)
    {
        for (int r = 0; r < rows; r++, src += ld, dst += ldd)
            for (int e = 0; e < ldd; e += 16) LoadFirst(src + e, cols - e).Store(dst + e);
    }

    // Writes the transpose of (rows, cols) at src (row stride ld) as (cols, ldd) at dst, zeroing columns
    // rows..ldd (ldd ≥ rows; stores past ldd are masked, so ldd = rows writes an unpadded matrix). By 16x16 blocks held in registers (the scalar scatter was a
    // sixth of the whole kernel, gathers an eighth). SkipLocalsInit: the block is written before it is read.
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StageTransposed(float* src, int rows, int cols, int ld, float* dst, int ldd)
    {
        var block = stackalloc Vector512<float>[16];
        for (int r0 = 0; r0 < ldd; r0 += 16)
            for (int e0 = 0; e0 < cols; e0 += 16)
            {
                for (int i = 0; i < 16; i++)
                    block[i] = r0 + i < rows ? LoadFirst(src + (long)(r0 + i) * ld + e0, cols - e0) : Vector512<float>.Zero;
                Transpose16(block);
                for (int i = 0; i < Math.Min(16, cols - e0); i++) StoreFirst(dst + (long)(e0 + i) * ldd + r0, ldd - r0, block[i]);
            }
    }

    // In-place transpose of 16 rows of 16 lanes: four stages that swap the off-diagonal blocks of width w = 8, 4,
    // 2, 1 (rows i and i + w trade the lanes whose bit w differs), each a two-source permute per row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose16(Vector512<float>* rows)
    {
        if (!Avx512F.IsSupported)
        {
            float* m = (float*)rows;
            for (int i = 0; i < 16; i++)
                for (int j = i + 1; j < 16; j++) (m[i * 16 + j], m[j * 16 + i]) = (m[j * 16 + i], m[i * 16 + j]);
            return;
        }
        var lane = Vector512<int>.Indices;
        for (int w = 8; w >= 1; w >>= 1)
        {
            var high = Vector512.Equals(lane & Vector512.Create(w), Vector512.Create(w));
            var upper = Vector512.ConditionalSelect(high, lane + Vector512.Create(16 - w), lane);      // out_i
            var lower = Vector512.ConditionalSelect(high, lane + Vector512.Create(16), lane + Vector512.Create(w));   // out_{i+w}
            for (int i = 0; i < 16; i++)
            {
                if ((i & w) != 0) continue;
                var a = rows[i];
                var b = rows[i + w];
                rows[i] = Avx512F.PermuteVar16x32x2(a, upper, b);
                rows[i + w] = Avx512F.PermuteVar16x32x2(a, lower, b);
            }
        }
    }

    // The first n (may be ≤ 0 or ≥ 16) of 16 floats at p, zeros after; never reads past p + n.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> LoadFirst(float* p, int n)
    {
        if (n >= 16) return Vector512.Load(p);
        if (Avx512F.IsSupported) return Avx512F.MaskLoad(p, TailMask(n), Vector512<float>.Zero);
        var v = Vector512<float>.Zero;
        for (int i = 0; i < n; i++) v = v.WithElement(i, p[i]);
        return v;
    }

    // Stores the first n (may be ≥ 16) lanes of v at p; never writes past p + n.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreFirst(float* p, int n, Vector512<float> v)
    {
        if (n >= 16) v.Store(p);
        else if (Avx512F.IsSupported) Avx512F.MaskStore(p, TailMask(n), v);
        else for (int i = 0; i < n; i++) p[i] = v[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TailMask(int n) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle();

    // dst[r, 0..cols) = alpha src[r, 0..cols) (+ dst with accumulate); the tail is masked, since the next
    // columns belong to another head (maybe another task's).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StoreHead(float* src, int lds, int rows, int cols, float* dst, int ldd, float alpha, int accumulate)
    {
        var va = Vector512.Create(alpha);
        for (int r = 0; r < rows; r++, src += lds, dst += ldd)
            for (int e = 0; e < cols; e += 16)
            {
                var v = va * Vector512.Load(src + e);
                if (accumulate != 0) v += LoadFirst(dst + e, cols - e);
                StoreFirst(dst + e, cols - e, v);
            }
    }

    // Softmax over the keys (rows) of Sᵀ (T, Tp) in place, 16 queries (columns) per vector: z = scale s + bias[key],
    // then p = exp(z − max) / Σ exp(z − max), every reduction lane-wise down the rows. Padded query columns get a
    // finite softmax of zeros that nothing reads. MaxNative: a NaN score makes the sum, so the column, NaN either way.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AttentionSoftmaxColumns(float* s, float* bias, int t, int tp, float scale)
    {
        var vs = Vector512.Create(scale);
        for (int j = 0; j < tp; j += 16)
        {
            float* col = s + j;
            var vmax = Vector512.Create(float.NegativeInfinity);
            for (int r = 0; r < t; r++)
            {
                var z = Vector512.FusedMultiplyAdd(Vector512.Load(col + r * tp), vs, Vector512.Create(bias[r]));
                z.Store(col + r * tp);
                vmax = Vector512.MaxNative(vmax, z);
            }
            var vsum = Vector512<float>.Zero;
            for (int r = 0; r < t; r++)
            {
                var e = FastMath.Exp(Vector512.Load(col + r * tp) - vmax);
                e.Store(col + r * tp);
                vsum += e;
            }
            var vinv = Vector512<float>.One / vsum;
            for (int r = 0; r < t; r++) (Vector512.Load(col + r * tp) * vinv).Store(col + r * tp);
        }
    }

    // One padded row of the softmax backward in place: ds = p ⊙ (ds − Σ ds ⊙ p); zero padding stays zero.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void SoftmaxBackwardRowPadded(float* p, float* ds, int tp)
    {
        var vdot = Vector512<float>.Zero;
        for (int j = 0; j < tp; j += 16) vdot = Vector512.FusedMultiplyAdd(Vector512.Load(ds + j), Vector512.Load(p + j), vdot);
        var dot = Vector512.Create(Vector512.Sum(vdot));
        for (int j = 0; j < tp; j += 16) (Vector512.Load(p + j) * (Vector512.Load(ds + j) - dot)).Store(ds + j);
    }

    // C (rows, cols) = A (rows, k) B (k, cols), cols a multiple of 16; A(r, p) at a[r rs + p ks], B and C
    // row-major with strides ldb, ldc. Column blocks of up to 64, each with the widest tile that fits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AttentionProduct(float* a, int rows, nint rs, nint ks, float* b, nint ldb, int k, int cols, float* c, nint ldc)
    {
        for (int j0 = 0; j0 < cols; j0 += 64)
        {
            switch (Math.Min(4, (cols - j0) / 16))
            {
                case 1: AttentionTiles<Tile8x1>(a, rows, rs, ks, b + j0, ldb, k, c + j0, ldc); break;
                case 2: AttentionTiles<Tile8x2>(a, rows, rs, ks, b + j0, ldb, k, c + j0, ldc); break;
                case 3: AttentionTiles<Tile4x3>(a, rows, rs, ks, b + j0, ldb, k, c + j0, ldc); break;
                default: AttentionTiles<Tile4x4>(a, rows, rs, ks, b + j0, ldb, k, c + j0, ldc); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AttentionTiles<TTile>(float* a, int rows, nint rs, nint ks, float* b, nint ldb, int k, float* c, nint ldc)
        where TTile : struct, IAttentionTile
    {
        for (int i0 = 0; i0 < rows; i0 += TTile.Rows)
            AttentionTile<TTile>(a + i0 * rs, Math.Min(TTile.Rows, rows - i0), rs, ks, b, ldb, k, c + i0 * ldc, ldc);
    }

    /// <summary>A register tile of the attention micro-kernel: Rows x Vectors accumulators of 16 lanes (at most 16).</summary>
    internal interface IAttentionTile
    {
        /// <summary>Rows of C per tile (4 or 8).</summary>
        static abstract int Rows { get; }

        /// <summary>16-lane column vectors per tile (1 to 4; at most 2 with 8 rows).</summary>
        static abstract int Vectors { get; }
    }

    private readonly struct Tile8x1 : IAttentionTile { public static int Rows => 8; public static int Vectors => 1; }
    private readonly struct Tile8x2 : IAttentionTile { public static int Rows => 8; public static int Vectors => 2; }
    private readonly struct Tile4x3 : IAttentionTile { public static int Rows => 4; public static int Vectors => 3; }
    private readonly struct Tile4x4 : IAttentionTile { public static int Rows => 4; public static int Vectors => 4; }

    // The micro-kernel: C (rows ≤ Rows, 16·Vectors) = Σ_p A(r, p) B(p, :). The JIT compiles one body per
    // tile struct with the shape's constants folded, so only the live accumulators exist and stay in
    // registers (NoInlining, like GemmMicroTile: inlined into its callers, they spilled). Rows past
    // `rows` repeat the last row and are not stored.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AttentionTile<TTile>(float* a, int rows, nint rs, nint ks, float* b, nint ldb, int k, float* c, nint ldc)
        where TTile : struct, IAttentionTile
    {
        int last = rows - 1;
        float* a0 = a, a1 = a + Math.Min(1, last) * rs, a2 = a + Math.Min(2, last) * rs, a3 = a + Math.Min(3, last) * rs;
        float* a4 = a + Math.Min(4, last) * rs, a5 = a + Math.Min(5, last) * rs, a6 = a + Math.Min(6, last) * rs, a7 = a + Math.Min(7, last) * rs;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        nint kk = 0;
        for (int p = 0; p < k; p++, kk += ks, b += ldb)
        {
            var b0 = Vector512.Load(b);
            var b1 = TTile.Vectors > 1 ? Vector512.Load(b + 16) : default;
            var b2 = TTile.Vectors > 2 ? Vector512.Load(b + 32) : default;
            var b3 = TTile.Vectors > 3 ? Vector512.Load(b + 48) : default;
            var v = Vector512.Create(a0[kk]);
            c00 = Vector512.FusedMultiplyAdd(v, b0, c00);
            if (TTile.Vectors > 1) c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
            if (TTile.Vectors > 2) c02 = Vector512.FusedMultiplyAdd(v, b2, c02);
            if (TTile.Vectors > 3) c03 = Vector512.FusedMultiplyAdd(v, b3, c03);
            v = Vector512.Create(a1[kk]);
            c10 = Vector512.FusedMultiplyAdd(v, b0, c10);
            if (TTile.Vectors > 1) c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
            if (TTile.Vectors > 2) c12 = Vector512.FusedMultiplyAdd(v, b2, c12);
            if (TTile.Vectors > 3) c13 = Vector512.FusedMultiplyAdd(v, b3, c13);
            v = Vector512.Create(a2[kk]);
            c20 = Vector512.FusedMultiplyAdd(v, b0, c20);
            if (TTile.Vectors > 1) c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
            if (TTile.Vectors > 2) c22 = Vector512.FusedMultiplyAdd(v, b2, c22);
            if (TTile.Vectors > 3) c23 = Vector512.FusedMultiplyAdd(v, b3, c23);
            v = Vector512.Create(a3[kk]);
            c30 = Vector512.FusedMultiplyAdd(v, b0, c30);
            if (TTile.Vectors > 1) c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
            if (TTile.Vectors > 2) c32 = Vector512.FusedMultiplyAdd(v, b2, c32);
            if (TTile.Vectors > 3) c33 = Vector512.FusedMultiplyAdd(v, b3, c33);
            if (TTile.Rows > 4)
            {
                v = Vector512.Create(a4[kk]);
                c40 = Vector512.FusedMultiplyAdd(v, b0, c40);
                if (TTile.Vectors > 1) c41 = Vector512.FusedMultiplyAdd(v, b1, c41);
                v = Vector512.Create(a5[kk]);
                c50 = Vector512.FusedMultiplyAdd(v, b0, c50);
                if (TTile.Vectors > 1) c51 = Vector512.FusedMultiplyAdd(v, b1, c51);
                v = Vector512.Create(a6[kk]);
                c60 = Vector512.FusedMultiplyAdd(v, b0, c60);
                if (TTile.Vectors > 1) c61 = Vector512.FusedMultiplyAdd(v, b1, c61);
                v = Vector512.Create(a7[kk]);
                c70 = Vector512.FusedMultiplyAdd(v, b0, c70);
                if (TTile.Vectors > 1) c71 = Vector512.FusedMultiplyAdd(v, b1, c71);
            }
        }
        StoreTileRow<TTile>(c, c00, c01, c02, c03);
        if (rows > 1) StoreTileRow<TTile>(c + ldc, c10, c11, c12, c13);
        if (rows > 2) StoreTileRow<TTile>(c + 2 * ldc, c20, c21, c22, c23);
        if (rows > 3) StoreTileRow<TTile>(c + 3 * ldc, c30, c31, c32, c33);
        if (TTile.Rows <= 4) return;
        if (rows > 4) StoreTileRow<TTile>(c + 4 * ldc, c40, c41, default, default);
        if (rows > 5) StoreTileRow<TTile>(c + 5 * ldc, c50, c51, default, default);
        if (rows > 6) StoreTileRow<TTile>(c + 6 * ldc, c60, c61, default, default);
        if (rows > 7) StoreTileRow<TTile>(c + 7 * ldc, c70, c71, default, default);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreTileRow<TTile>(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3)
        where TTile : struct, IAttentionTile
    {
        x0.Store(c);
        if (TTile.Vectors > 1) x1.Store(c + 16);
        if (TTile.Vectors > 2) x2.Store(c + 32);
        if (TTile.Vectors > 3) x3.Store(c + 48);
    }
}
