// Multi-head self-attention with a fused qkv projection (timm's Attention): qkv (B, T, 3C) in one
// GEMM, all heads in strided GEMMs (Tape.Attention), then the output projection, whose GEMM also
// adds the residual stream.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>Self-attention with parameters "{name}.qkv.*" (3C, C) and "{name}.proj.*" (C, C).</summary>
public sealed class MultiHeadAttention : Module
{
    /// <summary>Attention over <paramref name="channels"/> = heads x head dim.</summary>
    public MultiHeadAttention(Device device, string name, int channels, int heads, Random random)
    {
        if (heads < 1 || channels % heads != 0)
            throw new ArgumentException($"{name}: {channels} channels do not split into {heads} heads.");
        Heads = heads;
        Qkv = new Linear(device, name + ".qkv", channels, 3 * channels, random);
        Proj = new Linear(device, name + ".proj", channels, channels, random);
    }

    /// <summary>Number of heads.</summary>
    public int Heads { get; }

    /// <summary>The fused q, k, v projection.</summary>
    public Linear Qkv { get; }

    /// <summary>The output projection.</summary>
    public Linear Proj { get; }

    /// <summary>
    /// residual + Proj(Attention(x)) for normalised tokens <paramref name="x"/> (B, T, C); the optional
    /// <paramref name="keyBias"/> (B, T) is added to every logit of key j. What <paramref name="keep"/> names is kept
    /// besides (the CLS attention a Top-K reducer reads, the head-mean keys of ToMe).
    /// </summary>
    public AttentionOutput Forward(Tape tape, Variable x, Variable residual, Tensor<float>? keyBias = null, AttentionExtras keep = AttentionExtras.None)
    {
        var qkv = Qkv.Forward(tape, x);
        var o = tape.Attention(qkv, Heads, keyBias, out var clsAttention, out var headMeanKeys, keep);
        return new AttentionOutput(Proj.Forward(tape, o, residual), qkv, Heads, clsAttention, headMeanKeys);
    }

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() => [.. Qkv.Parameters(), .. Proj.Parameters()];
}

/// <summary>What attention hands to the rest of a block and to token reducers.</summary>
/// <param name="Output">The residual stream after attention (B, T, C).</param>
/// <param name="Qkv">The fused projections (B, T, 3C); keys are columns C..2C−1.</param>
/// <param name="Heads">Number of heads H.</param>
/// <param name="ClsAttention">The CLS query's attention probabilities (B, H, 1, T), row 0 of each head's; null when the
/// forward was not asked to keep them.</param>
/// <param name="HeadMeanKeys">Each token's key averaged over heads and L2-normalised (B, T, C / H); null when the forward was
/// not asked to keep them.</param>
public readonly record struct AttentionOutput(Variable Output, Variable Qkv, int Heads, Tensor<float>? ClsAttention,
    Tensor<float>? HeadMeanKeys = null)
{
    /// <summary>The CLS query's attention (B, H, 1, T).</summary>
    /// <exception cref="InvalidOperationException">The forward did not keep it.</exception>
    public Tensor<float> RequireClsAttention() => ClsAttention ??
        throw new InvalidOperationException("The CLS attention was not kept: run the attention keeping AttentionExtras.ClsAttention.");
}
