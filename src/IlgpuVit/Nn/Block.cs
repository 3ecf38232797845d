// A pre-norm transformer block (ViT, timm's Block):
//   x = x + Attn(LN1(x))
//   x = reducer(x)            (optional: token reduction, docs/methods.md)
//   x = x + MLP(LN2(x))
// Both residual adds are fused into the GEMMs of the projection and fc2.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>Transformer block "blocks.{i}" with norm1, attn, norm2, mlp, and an optional token reducer.</summary>
public sealed class Block : Module
{
    /// <summary>A block of <paramref name="channels"/> channels, <paramref name="heads"/> heads and MLP width <paramref name="hidden"/>.</summary>
    public Block(Device device, int index, int channels, int heads, int hidden, float eps, Random random)
    {
        string name = $"blocks.{index}";
        Index = index;
        Norm1 = new LayerNorm(device, name + ".norm1", channels, eps);
        Attn = new MultiHeadAttention(device, name + ".attn", channels, heads, random);
        Norm2 = new LayerNorm(device, name + ".norm2", channels, eps);
        Mlp = new Mlp(device, name + ".mlp", channels, hidden, random);
    }

    /// <summary>Position in the model, from 0.</summary>
    public int Index { get; }

    /// <summary>Norm before attention.</summary>
    public LayerNorm Norm1 { get; }

    /// <summary>Self-attention.</summary>
    public MultiHeadAttention Attn { get; }

    /// <summary>Norm before the MLP.</summary>
    public LayerNorm Norm2 { get; }

    /// <summary>The MLP.</summary>
    public Mlp Mlp { get; }

    /// <summary>Reduces tokens after attention; null keeps them all.</summary>
    public ITokenReducer? Reducer { get; set; }

    /// <summary>The block applied to tokens <paramref name="x"/> (B, T, C); returns (B, T', C).</summary>
    public Variable Forward(Tape tape, Variable x, TokenState state)
    {
        // Attention writes the CLS attention or head-mean keys only for a reducer that reads them (the tape keeps the
        // probabilities itself for a backward).
        var keep = Reducer?.Reads(Index, x.Shape[1]) ?? AttentionExtras.None;
        var attention = Attn.Forward(tape, Norm1.Forward(tape, x), x, state.KeyBias, keep);
        x = attention.Output;
        if (Reducer is not null) x = Reducer.Reduce(tape, x, new ReductionContext(Index, attention, state));
        state.TokensAfterLayer.Add(x.Shape[1]);
        return Mlp.Forward(tape, Norm2.Forward(tape, x), x);
    }

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() =>
        [.. Norm1.Parameters(), .. Attn.Parameters(), .. Norm2.Parameters(), .. Mlp.Parameters()];
}
