// Top-K with Variable Proportional Attention (docs/methods.md, method 3): Top-K selection, the sizes of
// dropped tokens moved to kept ones (host: the kept token with the most similar head-averaged key,
// Ops.BestMatch; attention; uniform: SizeRedistribution), and λ of the next block, whose attention adds
// λ_l log(size) to every logit. λ may be constant or a linear ramp from the first to the last layer.
// λ = 0 is exactly Top-K; the sizes always sum to the initial tokens.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Reduction;

/// <summary>Top-K pruning with size-weighted (proportional) attention.</summary>
/// <param name="Lambda">λ per block.</param>
/// <param name="Mode">Where dropped sizes go.</param>
public sealed record TopKVpaPlanner(LambdaSchedule Lambda, SizeMode Mode = SizeMode.Host) : ITokenPlanner
{
    /// <summary>"topk-vpa", options lambda and mode.</summary>
    public static MethodDefinition Definition { get; } = new("topk-vpa", [LambdaSchedule.Option, new("mode", "mode=host|attention|uniform")],
        options => new TopKVpaPlanner(options.Lambda(), options.Take("mode") is { } mode ? Enum.Parse<SizeMode>(mode, ignoreCase: true) : SizeMode.Host));

    /// <inheritdoc/>
    public string Name => Definition.Name;

    /// <inheritdoc/>
    public IEnumerable<string> Options
    {
        get
        {
            if (Lambda != LambdaSchedule.One) yield return $"lambda={Lambda}";
            if (Mode != SizeMode.Host) yield return $"mode={Mode.ToString().ToLowerInvariant()}";
        }
    }

    /// <inheritdoc/>
    public bool TracksSizes => true;

    /// <inheritdoc/>
    public AttentionExtras Reads => Mode == SizeMode.Host ? AttentionExtras.ClsAttention | AttentionExtras.HeadMeanKeys : AttentionExtras.ClsAttention;

    /// <inheritdoc/>
    public ReductionPlan Plan(in PlanningContext context)
    {
        int keep = context.Tokens - 1 - context.Removed;
        var plan = ReductionPlan.Unchanged;
        if (keep < context.Tokens - 1)
        {
            using var selection = TopKSelection.Select(context, keep);
            var sizes = Tensor<float>.Empty(context.Device, context.Batch, keep + 1);
            if (Mode == SizeMode.Host)
            {
                using var keys = context.HeadMeanKeys();
                using var hosts = selection.Hosts(keys, normalized: true);
                SizeRedistribution.RedistributeSizes(context.Sizes!, selection.Kept, selection.Dropped, selection.Scores, hosts.Index, Mode, sizes);
                plan = ReductionPlan.Keep(selection.TakeKept()) with { Sizes = sizes, Macs = hosts.Macs };
            }
            else
            {
                SizeRedistribution.RedistributeSizes(context.Sizes!, selection.Kept, selection.Dropped, selection.Scores, null, Mode, sizes);
                plan = ReductionPlan.Keep(selection.TakeKept()) with { Sizes = sizes };
            }
        }
        // The next block's attention adds λ log(size) to every logit of key j.
        return plan with { Lambda = Lambda.At(context.Layer + 1, context.Depth) };
    }
}
