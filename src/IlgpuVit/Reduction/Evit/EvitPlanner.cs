// EViT (docs/methods.md, method 4; Liang et al., ICLR 2022): Top-K by CLS attention, and the dropped
// tokens fused into one extra token, Σ score_j x_j (not renormalised), appended last (EvitFusion).
// The fused token counts toward the tokens kept, so a layer that removes R tokens keeps T − 1 − R − 1
// by score plus the fused one (at least one by score). Sizes are carried: the fused token stands for
// the patches it absorbed.

using IlgpuVit.Runtime;

namespace IlgpuVit.Reduction;

/// <summary>EViT's inattentive-token fusion.</summary>
public sealed record EvitPlanner : ITokenPlanner
{
    /// <summary>"evit", no options.</summary>
    public static MethodDefinition Definition { get; } = new("evit", [], _ => new EvitPlanner());

    /// <inheritdoc/>
    public string Name => Definition.Name;

    /// <inheritdoc/>
    public bool TracksSizes => true;

    /// <inheritdoc/>
    public ReductionPlan Plan(in PlanningContext context)
    {
        int tokens = context.Tokens, removed = context.Removed;
        int keep = Math.Max(1, tokens - 2 - removed);
        if (removed == 0 || keep + 1 >= tokens - 1) return ReductionPlan.Unchanged;
        using var selection = TopKSelection.Select(context, keep);
        var destination = Tensor<int>.Empty(context.Device, context.Batch, tokens);
        var weight = Tensor<float>.Empty(context.Device, context.Batch, tokens);
        EvitFusion.EvitPlan(selection.Kept, selection.Dropped, selection.Scores, destination, weight);
        return ReductionPlan.Combine(destination, weight, keep + 2, normalize: false);
    }
}
