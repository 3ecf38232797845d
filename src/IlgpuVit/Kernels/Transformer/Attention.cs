// Multi-head scaled dot-product attention, forward and backward, over a fused qkv buffer (B, T, 3C):
// columns [q | k | v], head h at columns h·d .. h·d + d − 1 of each part (timm's and torch's layout).
//   Forward:   S = s Q Kᵀ,  P = softmax(S + keyBias[b, :]) per row,  O = P V      (per image and head)
//   Backward:  dP = dO Vᵀ,  dV = Pᵀ dO,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = s dS K,  dK = s dSᵀ Q.
// P (B, H, T, T) is written by the forward when asked for: the backward reads it. The Top-K family's reducers read
// only the CLS query's row, which the forward writes on its own when asked (B, H, 1, T); inference that needs
// neither lets GPUs run the fused kernel. The key bias
// (log sizes, ToMe / VPA) is a constant and gets no gradient. Gradient convention: dQkv is an
// activation gradient, overwritten unless `accumulate` (then added to).
// Two implementations of one contract, chosen by device:
//   CPU: AttentionCpu.cs - one kernel index per run of (image, head) pairs, each head done in
//        L1-sized scratch with Vector512 (FlashAttention's "one head per program", not its tiling).
//   GPU: strided batched Ops.Gemm over every (image, head) plus Ops.Softmax / SoftmaxBackward,
//        which is also the fused path's test oracle (run on the GPU simulator). Without P the forward
//        is one fused kernel instead (AttentionFused.cs: online softmax over key tiles, FlashAttention's).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Attention of <paramref name="heads"/> heads over <paramref name="qkv"/> (B, T, 3C): writes the probabilities
    /// P = softmax(scale Q Kᵀ + keyBias) into <paramref name="probabilities"/> (B, H, T, T) when given and O = P V into
    /// <paramref name="output"/> (B, T, C), head h in columns h·d..h·d+d−1. Without probabilities GPUs run the fused
    /// kernel (P never leaves the group; head dims up to <see cref="FusedAttentionMaxHeadDim"/>, larger ones compose
    /// through a temporary P) and the CPU keeps P in its per-head scratch.
    /// </summary>
    /// <param name="qkv">Fused projections (B, T, 3C), columns [q | k | v].</param>
    /// <param name="heads">Number of heads H; C must be a multiple of H.</param>
    /// <param name="scale">Logit scale s, usually 1/√d.</param>
    /// <param name="keyBias">Optional additive logit bias per key (B, T), shared by every head and query.</param>
    /// <param name="probabilities">Written when not null: the attention probabilities (B, H, T, T).</param>
    /// <param name="output">Written: the attended values (B, T, C).</param>
    /// <param name="clsAttention">Written when not null: row 0 of every head's probabilities, the CLS query's attention (B, H, 1, T).</param>
    /// <param name="headMeanKeys">Written when not null: each token's key averaged over heads and L2-normalised (B, T, C / H), as
    /// <see cref="HeadMeanKeys"/> with normalize gives it (ToMe's metric, VPA's host search).</param>
    /// <exception cref="ShapeMismatchException">qkv is not (B, T, 3C) with C divisible by H, or another shape does not fit it.</exception>
    public static void AttentionForward(Tensor<float> qkv, int heads, float scale, Tensor<float>? keyBias,
        Tensor<float>? probabilities, Tensor<float> output, Tensor<float>? clsAttention = null, Tensor<float>? headMeanKeys = null)
    {
        const string op = "AttentionForward";
        var device = OnOneDevice(op, qkv, keyBias, probabilities, output, clsAttention, headMeanKeys);
        var g = AttentionArgs.Check(op, qkv, heads, scale, probabilities);
        ShapeMismatchException.ThrowIfDifferent(op, "output", new Shape(g.Batch, g.Tokens, g.Channels), output.Shape);
        if (keyBias is not null) ShapeMismatchException.ThrowIfDifferent(op, "key bias", new Shape(g.Batch, g.Tokens), keyBias.Shape);
        if (clsAttention is not null)
            ShapeMismatchException.ThrowIfDifferent(op, "CLS attention", new Shape(g.Batch, g.Heads, 1, g.Tokens), clsAttention.Shape);
        if (headMeanKeys is not null)
            ShapeMismatchException.ThrowIfDifferent(op, "head-mean keys", new Shape(g.Batch, g.Tokens, g.HeadDim), headMeanKeys.Shape);
        g.HasBias = keyBias is null ? 0 : 1;
        g.SkipsProbabilities = probabilities is null ? 1 : 0;
        g.WritesClsAttention = clsAttention is null ? 0 : 1;
        if (!device.UsesCpuFastPath)
        {
            if (headMeanKeys is not null) HeadMeanKeys(qkv, heads, headMeanKeys, normalize: true);
            if (probabilities is null && clsAttention is null && g.HeadDim <= FusedAttentionMaxHeadDim)
            {
                AttentionForwardFused(device, qkv, g, keyBias, output);
                return;
            }
            using var temporary = probabilities is null ? Tensor<float>.Empty(device, g.Batch, g.Heads, g.Tokens, g.Tokens) : null;
            AttentionForwardComposed(qkv, g, keyBias, probabilities ?? temporary!, output);
            if (clsAttention is not null) CopyClsRows(probabilities ?? temporary!, clsAttention, g.Tokens);
            return;
        }
        // The CPU averages an image's keys right after its last head, while they are in cache, when every task can hold
        // whole images without leaving a worker idle; otherwise in a launch of its own.
        g.WritesHeadMeanKeys = headMeanKeys is not null && g.Batch >= Device.CpuWorkers ? 1 : 0;
        g.Plan(device, g.ForwardScratch);
        using var scratch = Tensor<float>.Empty(device, g.Tasks, g.ScratchPerTask);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            AttentionArgs>(AttentionHeadKernel, group));
        launch(device.Accelerator.DefaultStream, g.Tasks, qkv.View, (keyBias ?? qkv).View, (probabilities ?? qkv).View, output.View,
            (clsAttention ?? qkv).View, (headMeanKeys ?? qkv).View, scratch.View, g);
        if (headMeanKeys is not null && g.WritesHeadMeanKeys == 0) HeadMeanKeys(qkv, heads, headMeanKeys, normalize: true);
    }

    // GPUs: the CLS rows (B, H, 1, T) out of the full probabilities (B, H, T, T): row 0 of each of the B·H (T, T) heads, gathered.
    private static void CopyClsRows(Tensor<float> probabilities, Tensor<float> clsAttention, int tokens)
    {
        int pairs = (int)(clsAttention.Length / tokens);
        using var heads = probabilities.Reshape(pairs, tokens, tokens);
        using var rows = clsAttention.Reshape(pairs, 1, tokens);
        using var first = Tensor<int>.Zeros(clsAttention.Device, pairs, 1);
        GatherRows(heads, first, rows);
    }

    /// <summary>
    /// Gradient of <see cref="AttentionForward"/> with respect to qkv: from <paramref name="qkv"/> (B, T, 3C), the saved
    /// <paramref name="probabilities"/> (B, H, T, T) and <paramref name="dOutput"/> (B, T, C), writes dQ, dK and dV into
    /// <paramref name="dQkv"/> (B, T, 3C) in qkv's column layout, or adds them with <paramref name="accumulate"/>.
    /// Deterministic (no atomics).
    /// </summary>
    /// <param name="qkv">The forward's input (B, T, 3C).</param>
    /// <param name="probabilities">The forward's probabilities (B, H, T, T).</param>
    /// <param name="dOutput">Gradient of the output (B, T, C).</param>
    /// <param name="dQkv">Gradient of qkv (B, T, 3C): overwritten, or added to.</param>
    /// <param name="heads">Number of heads H, as in the forward.</param>
    /// <param name="scale">The forward's logit scale.</param>
    /// <param name="accumulate">Add to dQkv instead of overwriting it.</param>
    /// <exception cref="ShapeMismatchException">A shape does not fit qkv's.</exception>
    public static void AttentionBackward(Tensor<float> qkv, Tensor<float> probabilities, Tensor<float> dOutput,
        Tensor<float> dQkv, int heads, float scale, bool accumulate)
    {
        const string op = "AttentionBackward";
        var device = OnOneDevice(op, qkv, probabilities, dOutput, dQkv);
        var g = AttentionArgs.Check(op, qkv, heads, scale, probabilities);
        ShapeMismatchException.ThrowIfDifferent(op, "dOutput", new Shape(g.Batch, g.Tokens, g.Channels), dOutput.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dQkv", qkv.Shape, dQkv.Shape);
        if (!device.UsesCpuFastPath)
        {
            AttentionBackwardComposed(qkv, g, probabilities, dOutput, dQkv, accumulate);
            return;
        }
        g.Accumulate = accumulate ? 1 : 0;
        g.Plan(device, g.BackwardScratch);
        using var scratch = Tensor<float>.Empty(device, g.Tasks, g.ScratchPerTask);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(
            AttentionHeadBackwardKernel, group));
        launch(device.Accelerator.DefaultStream, g.Tasks, qkv.View, probabilities.View, dOutput.View, dQkv.View, scratch.View, g);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AttentionHeadKernel(Index1D task, ArrayView<float> qkv, ArrayView<float> bias, ArrayView<float> probabilities,
        ArrayView<float> output, ArrayView<float> clsAttention, ArrayView<float> headMeanKeys, ArrayView<float> scratch, AttentionArgs g)
    {
        int first = task * g.PairsPerTask;
        AttentionHeads(qkv, bias, probabilities, output, clsAttention, headMeanKeys, scratch, g, first, Math.Min(g.PairsPerTask, g.Batch * g.Heads - first),
            (long)task.X * g.ScratchPerTask);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AttentionHeadBackwardKernel(Index1D task, ArrayView<float> qkv, ArrayView<float> probabilities,
        ArrayView<float> dOutput, ArrayView<float> dQkv, ArrayView<float> scratch, AttentionArgs g)
    {
        int first = task * g.PairsPerTask;
        AttentionHeadsBackward(qkv, probabilities, dOutput, dQkv, scratch, g, first, Math.Min(g.PairsPerTask, g.Batch * g.Heads - first),
            (long)task.X * g.ScratchPerTask);
    }

    // The GPU path: every product is one strided GEMM over all (image, head) pairs, so nothing is
    // permuted. Layouts: q, k, v inside qkv; scores (B, H, T, T); o (B, T, C).
    internal static void AttentionForwardComposed(Tensor<float> qkv, AttentionArgs g, Tensor<float>? keyBias,
        Tensor<float> probabilities, Tensor<float> output)
    {
        var (q, k, v, s, o) = g.Layouts();
        int b = g.Batch, h = g.Heads, t = g.Tokens, d = g.HeadDim;
        Gemm(b, h, t, t, d, qkv, q, qkv, k, probabilities, s, new GemmOptions { TransposeB = true, Alpha = g.Scale });
        Softmax(probabilities, probabilities, 1f, keyBias);
        Gemm(b, h, t, d, t, probabilities, s, qkv, v, output, o);
    }

    internal static void AttentionBackwardComposed(Tensor<float> qkv, AttentionArgs g, Tensor<float> probabilities,
        Tensor<float> dOutput, Tensor<float> dQkv, bool accumulate)
    {
        var (q, k, v, s, o) = g.Layouts();
        int b = g.Batch, h = g.Heads, t = g.Tokens, d = g.HeadDim;
        using var ds = Tensor<float>.Empty(qkv.Device, b, h, t, t);
        Gemm(b, h, t, t, d, dOutput, o, qkv, v, ds, s, new GemmOptions { TransposeB = true });                                        // dP
        Gemm(b, h, t, d, t, probabilities, s, dOutput, o, dQkv, v, new GemmOptions { TransposeA = true, Accumulate = accumulate });   // dV
        SoftmaxBackward(probabilities, ds, ds);                                                                                       // dS
        Gemm(b, h, t, d, t, ds, s, qkv, k, dQkv, q, new GemmOptions { Alpha = g.Scale, Accumulate = accumulate });                    // dQ
        Gemm(b, h, t, d, t, ds, s, qkv, q, dQkv, k, new GemmOptions { TransposeA = true, Alpha = g.Scale, Accumulate = accumulate }); // dK
    }
}

/// <summary>The flattened description of one attention launch, passed to kernels by value.</summary>
internal struct AttentionArgs
{
    public int Batch, Tokens, Channels, Heads, HeadDim;
    public int PaddedTokens, PaddedDim;   // T and d rounded up to 16 lanes: the row strides of the CPU scratch
    public float Scale;
    public int HasBias, Accumulate;
    public int SkipsProbabilities;        // CPU forward: 1 keeps P in its scratch only (the portable twin always writes P)
    public int WritesClsAttention;        // forward: 1 also writes row 0 of every head's P into a (B, H, 1, T) tensor
    public int WritesHeadMeanKeys;        // CPU forward: 1 also writes each image's head-mean keys after its last head (tasks hold whole images)
    public int Tasks, PairsPerTask, ScratchPerTask;

    /// <summary>Checks qkv (B, T, 3C) against the heads and the probabilities (B, H, T, T), if any; the geometry.</summary>
    public static AttentionArgs Check(string op, Tensor<float> qkv, int heads, float scale, Tensor<float>? probabilities)
    {
        var shape = qkv.Shape;
        ShapeMismatchException.Require(shape.Rank == 3 && shape[2] % 3 == 0 && heads >= 1 && shape[2] / 3 % heads == 0 && shape[2] > 0, op,
            $"qkv has shape {shape}; it needs (B, T, 3C) with C a multiple of {heads} heads.");
        int b = shape[0], t = shape[1], c = shape[2] / 3;
        if (probabilities is not null) ShapeMismatchException.ThrowIfDifferent(op, "probabilities", new Shape(b, heads, t, t), probabilities.Shape);
        ShapeMismatchException.Require((long)b * heads * t * t <= int.MaxValue && qkv.Length <= int.MaxValue, op,
            $"qkv {shape} with {heads} heads has more than {int.MaxValue} probabilities or inputs; split the batch.");
        int d = c / heads;
        return new AttentionArgs
        {
            Batch = b, Tokens = t, Channels = c, Heads = heads, HeadDim = d,
            PaddedTokens = Pad(t), PaddedDim = Pad(d), Scale = scale,
        };
    }

    private static int Pad(int n) => (n + 15) / 16 * 16;

    /// <summary>Scratch of the CPU forward per task: Qᵀ (d, Tp), V (T, dp), the key bias (Tp), Sᵀ then Pᵀ (T, Tp), O (T, dp).</summary>
    public readonly int ForwardScratch => HeadDim * PaddedTokens + 2 * Tokens * PaddedDim + PaddedTokens + Tokens * PaddedTokens;

    /// <summary>Scratch of the CPU backward per task: Vᵀ (d, Tp), K, Q, dO and one result (T, dp) each, P and dS (T, Tp).</summary>
    public readonly int BackwardScratch => HeadDim * PaddedTokens + 4 * Tokens * PaddedDim + 2 * Tokens * PaddedTokens;

    /// <summary>
    /// Splits the B·H pairs into tasks: about 8 per CPU worker so that a busy core does not stall the launch, fewer
    /// where the scratch would pass 32M floats (long sequences), never fewer than the workers; whole images per task
    /// when the forward writes the head-mean keys.
    /// </summary>
    public void Plan(Device device, int scratchPerPair)
    {
        int pairs = Batch * Heads;
        int byMemory = Math.Max(Device.CpuWorkers, (int)Math.Min(int.MaxValue, (32L << 20) / scratchPerPair));
        Tasks = Math.Min(pairs, Math.Min(8 * Device.CpuWorkers, byMemory));
        PairsPerTask = (pairs + Tasks - 1) / Tasks;
        if (WritesHeadMeanKeys != 0) PairsPerTask = (PairsPerTask + Heads - 1) / Heads * Heads;
        Tasks = (pairs + PairsPerTask - 1) / PairsPerTask;
        ScratchPerTask = scratchPerPair;
    }

    /// <summary>The GEMM layouts of the composed path: q, k, v in qkv; scores in (B, H, T, T); o in (B, T, C).</summary>
    public readonly (MatrixLayout Q, MatrixLayout K, MatrixLayout V, MatrixLayout Scores, MatrixLayout O) Layouts()
    {
        int c = Channels, t = Tokens, d = HeadDim;
        var q = new MatrixLayout(0, 3 * c, t * 3 * c, d);
        return (q, q with { Offset = c }, q with { Offset = 2 * c }, new MatrixLayout(0, t, Heads * t * t, t * t), new MatrixLayout(0, c, t * c, d));
    }

    /// <summary>Element (token 0, column 0) of pair z's q in qkv; k and v follow at +C and +2C.</summary>
    public readonly long QOffset(int z) => (long)(z / Heads) * Tokens * 3 * Channels + z % Heads * HeadDim;

    /// <summary>Element (token 0, column 0) of pair z's head in a (B, T, C) tensor.</summary>
    public readonly long OOffset(int z) => (long)(z / Heads) * Tokens * Channels + z % Heads * HeadDim;

    /// <summary>Element (0, 0) of pair z's (T, T) probabilities.</summary>
    public readonly long POffset(int z) => (long)z * Tokens * Tokens;

    /// <summary>Element 0 of image z / H's key bias row.</summary>
    public readonly long BiasOffset(int z) => (long)(z / Heads) * Tokens;
}
