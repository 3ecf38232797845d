// Analytic FLOPs of a ViT forward (docs/flops.md): multiply-accumulates, called FLOPs as fvcore and the
// papers do (one fused multiply-add = one FLOP), counted from the token counts that actually ran.
// Per block with N tokens entering and N' after the reduction (which sits after attention):
//   attention 3 N C² (qkv) + N² C (Q·Kᵀ) + N² C (attn·V) + N C² (proj);   MLP 2 N' C · MlpDim
// plus the patch embedding (patches · C · Cin p²) and the head (classes · C). Softmax, GELU,
// LayerNorm and adds are not counted; a method's own products (ToMe's similarity, ...) are passed in.

using IlgpuVit.Nn;
using IlgpuVit.Runtime;

namespace IlgpuVit.Metrics;

/// <summary>Multiply-accumulates of a ViT forward, per image.</summary>
public static class Flops
{
    /// <summary>
    /// MACs per image of <paramref name="config"/> when block l receives <paramref name="tokensIn"/>[l] tokens and
    /// hands <paramref name="tokensOut"/>[l] to its MLP and the next block (CLS included in both), plus
    /// <paramref name="methodMacs"/> for the reduction method's own products.
    /// </summary>
    /// <exception cref="ArgumentException">The lists do not have one entry per block, or a count grows.</exception>
    public static double Macs(VitConfig config, IReadOnlyList<int> tokensIn, IReadOnlyList<int> tokensOut, double methodMacs = 0)
    {
        if (tokensIn.Count != config.Depth || tokensOut.Count != config.Depth)
            throw new ArgumentException($"Flops: {config.Name} has {config.Depth} blocks; got {tokensIn.Count} entry counts and {tokensOut.Count} exit counts.");
        double c = config.EmbedDim, macs = EmbeddingMacs(config);
        for (int l = 0; l < config.Depth; l++)
        {
            double n = tokensIn[l], kept = tokensOut[l];
            if (kept > n) throw new ArgumentException($"Flops: block {l} hands on {kept} tokens but received {n}.");
            macs += 4 * n * c * c + 2 * n * n * c + 2 * kept * c * config.MlpDim;
        }
        return macs + (double)config.Classes * c + methodMacs;
    }

    /// <summary>MACs per image of the forward that left <paramref name="state"/>: its token counts and the method's own products.</summary>
    /// <exception cref="ArgumentException">The state does not hold one count per block.</exception>
    public static double Macs(VitConfig config, TokenState state)
    {
        var after = state.TokensAfterLayer;
        var before = after.Prepend(config.Tokens).Take(after.Count).ToArray();
        return Macs(config, before, after, state.MethodMacs);
    }

    /// <summary>
    /// MACs per image of the token embedding: the patch projection, or for a hybrid the whole CNN backbone and its
    /// projection (docs/flops.md: report the transformer part beside the total, since pruning cannot touch this).
    /// </summary>
    public static double EmbeddingMacs(VitConfig config) => config.BackboneLayers.Count > 0
        ? HybridEmbedding.Macs(config.InChannels, config.BackboneLayers, config.EmbedDim, config.ImageSize)
        : config.Stem == "conv" ? ConvStem.Macs(config.InChannels, config.PatchSize, config.EmbedDim, config.ImageSize)
        : (double)config.Patches * config.EmbedDim * config.InChannels * config.PatchSize * config.PatchSize;

    /// <summary>
    /// MACs per image of a hybrid's CNN backbone alone (without its 1x1 projection to tokens): what token reduction cannot
    /// touch; 0 for a plain ViT. Total minus this is the transformer part docs/flops.md reports beside the total.
    /// </summary>
    public static double BackboneMacs(VitConfig config) => config.BackboneLayers.Count > 0
        ? EmbeddingMacs(config) - (double)config.Patches * config.EmbedDim * HybridEmbedding.StageWidths[^1]
        : 0;

    /// <summary>MACs per image with no reduction.</summary>
    public static double Macs(VitConfig config)
    {
        var all = Enumerable.Repeat(config.Tokens, config.Depth).ToArray();
        return Macs(config, all, all);
    }

    /// <summary>MACs per image when every block reduces by <paramref name="rate"/>.</summary>
    /// <remarks>
    /// A test oracle: the library reports FLOPs counted from what ran (<see cref="Macs(VitConfig, TokenState)"/>); only the tests
    /// call this prediction from the schedule alone, as the reference those counts must equal (excluding a method's own products).
    /// </remarks>
    [TestOracle("the FLOPs counted from the token counts that ran")]
    public static double Macs(VitConfig config, Reduction.ReductionRate rate)
    {
        var after = rate.TokensAfterEachLayer(config.Depth, config.Tokens);
        var before = after.Prepend(config.Tokens).Take(config.Depth).ToArray();
        return Macs(config, before, after);
    }
}
