// The one applier at the reduction seam (Block.Reducer, between the attention residual and the MLP): it
// asks the method's planner for a plan and carries it out on the tape (kept rows: GatherRows; a token plan:
// Ops.IndexPlan, then CombineRows, unless the planner combined the tokens itself), so gradients flow
// through the kept and combined rows while the plan is a constant. It carries the token sizes (ones when
// the method tracks them and none are set yet), sets the key bias λ log(size) the next block's attention
// adds when the plan gives λ, adds the planner's MACs to the state, and hands every tensor of the plan to
// the tape (backward reads them). The rate is live: a rate adjuster sets it between steps, nothing is built
// again.

using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;

namespace IlgpuVit.Reduction;

/// <summary>A reduction method applied to a model of <see cref="Depth"/> blocks, at a rate that may change.</summary>
/// <example><code>var reduction = ReductionSpec.Parse("etps:rate=0.1")!.Apply(model); reduction.SetPruningRate(0.12);</code></example>
public sealed class TokenReduction : ITokenReducer
{
    /// <summary>Applies <paramref name="spec"/> to a model of <paramref name="depth"/> blocks.</summary>
    public TokenReduction(ReductionSpec spec, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        Spec = spec;
        Depth = depth;
    }

    /// <summary>The method at its current rate; its spelling is what checkpoints record.</summary>
    public ReductionSpec Spec { get; private set; }

    /// <summary>Blocks of the model.</summary>
    public int Depth { get; }

    /// <summary>Tokens removed per layer, from the next forward on.</summary>
    public ReductionRate Rate
    {
        get => Spec.Rate;
        set => Spec = Spec with { Rate = value };
    }

    /// <summary>Sets the paper's pruning rate p (see <see cref="ReductionSpec.WithPruningRate"/>).</summary>
    public void SetPruningRate(double rate) => Spec = Spec.WithPruningRate(rate);

    /// <inheritdoc/>
    public AttentionExtras Reads(int layer, int tokens) => Spec.Rate.Removed(layer, tokens) > 0 ? Spec.Planner.Reads : AttentionExtras.None;

    /// <inheritdoc/>
    public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
    {
        var state = context.State;
        var planner = Spec.Planner;
        if (planner.TracksSizes) state.Sizes ??= Ones(tape, x.Value);
        var plan = planner.Plan(new PlanningContext(context.Layer, Depth, Spec.Rate, x.Value, context.Attention, state.Sizes));
        if (plan.Rows is { } rows)
        {
            x = tape.GatherRows(x, tape.Keep(rows));
            state.Sizes = plan.Sizes is { } given ? tape.Keep(given) : state.Sizes is { } sizes ? GatherSizes(tape, sizes, rows) : null;
        }
        else if (plan.Destination is { } destination)
        {
            var weight = tape.Keep(plan.Weight!);
            tape.Keep(destination);
            var index = plan.Index;
            var combined = index is null ? null : plan.Combined;
            if (index is null)
            {
                index = PlanIndex.Empty(x.Device, x.Shape[0], x.Shape[1], plan.Outputs);
                Ops.IndexPlan(destination, weight, state.Sizes ?? Ones(tape, x.Value), plan.Normalize, index.Offsets, index.Sources, index.Sizes);
            }
            x = tape.CombineRows(x, destination, weight, tape.Keep(index.Offsets), tape.Keep(index.Sources), combined);
            state.Sizes = tape.Keep(index.Sizes);
        }
        state.MethodMacs += plan.Macs;
        if (plan.Lambda is float lambda)
            state.KeyBias = lambda == 0f ? null : plan.Index?.KeyBias is { } written ? tape.Keep(written) : KeyBias(tape, state.Sizes!, lambda);
        return x;
    }

    /// <summary>Sizes (B, T) of one patch per token of <paramref name="x"/> (B, T, C): where every method starts.</summary>
    private static Tensor<float> Ones(Tape tape, Tensor<float> x) =>
        tape.Keep(Tensor<float>.FromArray(x.Device, Init.Constant(x.Shape[0] * x.Shape[1], 1f), x.Shape[0], x.Shape[1]));

    /// <summary>The sizes (B, K) of the kept rows <paramref name="rows"/> (B, K) of <paramref name="sizes"/> (B, T).</summary>
    private static Tensor<float> GatherSizes(Tape tape, Tensor<float> sizes, Tensor<int> rows)
    {
        int batch = rows.Shape[0], kept = rows.Shape[1];
        var gathered = tape.Keep(Tensor<float>.Empty(sizes.Device, batch, kept));
        using var sizes3 = sizes.Reshape(batch, sizes.Shape[1], 1);
        using var gathered3 = gathered.Reshape(batch, kept, 1);
        Ops.GatherRows(sizes3, rows, gathered3);
        return gathered;
    }

    /// <summary>λ log(size) (B, T): what attention adds to every logit of key j (λ = 1: ToMe's proportional attention).</summary>
    private static Tensor<float> KeyBias(Tape tape, Tensor<float> sizes, float lambda)
    {
        var bias = tape.Keep(Tensor<float>.Empty(sizes.Device, sizes.Shape[0], sizes.Shape[1]));
        Ops.Map(sizes, bias, new ScaledLogOp(lambda));
        return bias;
    }
}
