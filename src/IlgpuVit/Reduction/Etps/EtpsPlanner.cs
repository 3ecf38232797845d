// eTPS (docs/methods.md, method 5; Wei et al., CVPR 2023): Top-K by CLS attention splits the tokens into
// reserved and pruned ones; each pruned token is squeezed into its host, the reserved token with the
// most cosine-similar features (Ops.BestMatch; norms floored at 1e-6 where docs/methods.md adds 1e-6,
// equal for any token that is not near zero), with weight exp(cos / tau) against the host's e
// (EtpsSqueeze; the applier normalises each row). Only reserved tokens go on; the sizes of guests add
// to their host. The squeeze weights are constants for autodiff, like every selection here.

using IlgpuVit.Runtime;

namespace IlgpuVit.Reduction;

/// <summary>eTPS's token pruning and squeezing.</summary>
/// <param name="Tau">Temperature of the squeeze weights exp(cos / tau).</param>
public sealed record EtpsPlanner(float Tau = 1f) : ITokenPlanner
{
    /// <summary>"etps", option tau.</summary>
    public static MethodDefinition Definition { get; } = new("etps", [new("tau", "tau=T")], options =>
    {
        var text = options.Take("tau");
        float tau = text is null ? 1f : MethodOptions.Number(text);
        return tau > 0f ? new EtpsPlanner(tau) : throw new ArgumentException($"tau must be positive, got {text}");
    });

    /// <inheritdoc/>
    public string Name => Definition.Name;

    /// <inheritdoc/>
    public IEnumerable<string> Options => Tau == 1f ? [] : [$"tau={Tau.ToString(System.Globalization.CultureInfo.InvariantCulture)}"];

    /// <inheritdoc/>
    public bool TracksSizes => true;

    /// <inheritdoc/>
    public ReductionPlan Plan(in PlanningContext context)
    {
        int tokens = context.Tokens, keep = tokens - 1 - context.Removed;
        if (keep == tokens - 1) return ReductionPlan.Unchanged;
        using var selection = TopKSelection.Select(context, keep);
        var destination = Tensor<int>.Empty(context.Device, context.Batch, tokens);
        var weight = Tensor<float>.Empty(context.Device, context.Batch, tokens);
        using var hosts = selection.Hosts(context.X, normalized: false);
        EtpsSqueeze.EtpsPlan(selection.Kept, selection.Dropped, hosts.Index, hosts.Best, Tau, destination, weight);
        return ReductionPlan.Combine(destination, weight, keep + 1, normalize: true) with { Macs = hosts.Macs };
    }
}
