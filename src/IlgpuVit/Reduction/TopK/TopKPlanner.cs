// Top-K token pruning (docs/methods.md, method 2): keep the non-CLS tokens with the highest importance
// score (mean over heads of the CLS attention of the same block) in their original order, drop the
// rest. The plan is the kept rows with unit weights; gradients flow through them, the selection is a
// constant. Top-K tracks no sizes; sizes another method set go with their tokens.

namespace IlgpuVit.Reduction;

/// <summary>Top-K pruning.</summary>
public sealed record TopKPlanner : ITokenPlanner
{
    /// <summary>"topk", no options.</summary>
    public static MethodDefinition Definition { get; } = new("topk", [], _ => new TopKPlanner());

    /// <inheritdoc/>
    public string Name => Definition.Name;

    /// <inheritdoc/>
    public bool TracksSizes => false;

    /// <inheritdoc/>
    public ReductionPlan Plan(in PlanningContext context)
    {
        int keep = context.Tokens - 1 - context.Removed;
        if (keep == context.Tokens - 1) return ReductionPlan.Unchanged;
        using var selection = TopKSelection.Select(context, keep);
        return ReductionPlan.Keep(selection.TakeKept());
    }
}
