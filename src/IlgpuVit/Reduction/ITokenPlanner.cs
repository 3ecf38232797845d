// A token reduction method is a planner (docs/architecture.md, "Conventions"; ToMe's merge.py returns its merge as
// a function of the tokens): from one block's tokens and attention auxiliaries it decides which rows
// go on and how they combine, and returns that decision as a ReductionPlan. A planner never touches the
// tape or the token state: the one applier at the seam (TokenReduction) carries the plan out, carries
// the sizes and the key bias, counts the MACs and owns the tensors. Adding a method means a planner
// file beside its kernels, its tests and one line of ReductionMethod's registry.

using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;

namespace IlgpuVit.Reduction;

/// <summary>Plans the token reduction of one block.</summary>
public interface ITokenPlanner
{
    /// <summary>The method's name, as a spec starts ("tome").</summary>
    string Name { get; }

    /// <summary>The method's options as a spec spells them after the rate, defaults left out (e.g. "lambda=0.5..1"); none by default.</summary>
    IEnumerable<string> Options => [];

    /// <summary>
    /// Whether tokens carry sizes under this method, starting from one patch each (<see cref="PlanningContext.Sizes"/> is
    /// then never null). A method that does not track sizes still has them carried when another put them there.
    /// </summary>
    bool TracksSizes { get; }

    /// <summary>
    /// What <see cref="Plan"/> reads of the block's attention besides its output: the CLS attention
    /// (<see cref="AttentionOutput.ClsAttention"/>, the Top-K family's score, the default) and/or the head-mean keys
    /// (<see cref="AttentionOutput.HeadMeanKeys"/>, ToMe's metric). The block's attention writes only those.
    /// </summary>
    AttentionExtras Reads => AttentionExtras.ClsAttention;

    /// <summary>The plan of block <see cref="PlanningContext.Layer"/>; <see cref="ReductionPlan.Unchanged"/> when it does nothing.</summary>
    ReductionPlan Plan(in PlanningContext context);
}

/// <summary>What a planner sees of one block.</summary>
/// <param name="Layer">The block's index, from 0.</param>
/// <param name="Depth">Blocks of the model (λ ramps and location schedules are over them).</param>
/// <param name="Rate">Tokens to remove, as the method counts them.</param>
/// <param name="X">The residual stream after attention (B, T, C).</param>
/// <param name="Attention">The block's attention outputs (probabilities, qkv).</param>
/// <param name="Sizes">(B, T): patches each token stands for; null when no method tracks sizes.</param>
public readonly record struct PlanningContext(int Layer, int Depth, ReductionRate Rate, Tensor<float> X, AttentionOutput Attention,
    Tensor<float>? Sizes)
{
    /// <summary>Images, B.</summary>
    public int Batch => X.Shape[0];

    /// <summary>Tokens present, T (CLS included).</summary>
    public int Tokens => X.Shape[1];

    /// <summary>Where the tokens live.</summary>
    public Device Device => X.Device;

    /// <summary>The block's attention heads, H.</summary>
    public int Heads => Attention.Heads;

    /// <summary>Non-CLS tokens the rate removes in this block.</summary>
    public int Removed => Rate.Removed(Layer, Tokens);

    /// <summary>
    /// Each token's key averaged over heads and L2-normalised, (B, T, C / H): ToMe's metric and VPA's host search
    /// (Ops.HeadMeanKeys); a view of the attention's when it wrote them (<see cref="ITokenPlanner.Reads"/>). The caller disposes it.
    /// </summary>
    public Tensor<float> HeadMeanKeys()
    {
        if (Attention.HeadMeanKeys is { } written) return written.Reshape(written.Shape.Dims.ToArray());
        var qkv = Attention.Qkv.Value;
        var keys = Tensor<float>.Empty(Device, Batch, Tokens, qkv.Shape[2] / 3 / Heads);
        Ops.HeadMeanKeys(qkv, Heads, keys, normalize: true);
        return keys;
    }
}
