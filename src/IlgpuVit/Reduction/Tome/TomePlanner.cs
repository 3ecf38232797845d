// ToMe (docs/methods.md, method 6; Bolya et al., ICLR 2023): bipartite soft matching on the keys averaged
// over heads. A = even tokens (CLS among them), B = odd; each A token's best B partner by cosine
// (Ops.BestMatch, CLS excluded); the r A tokens with the best scores merge into their partners by
// size-weighted mean (TomeMatching; sizes add); unmerged A tokens in order, then B. Proportional
// attention adds λ log(size) to the next block's logits (λ = 1 by default; 0 turns it off).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Reduction;

/// <summary>Token merging (ToMe's r, or any other rate, at most half the non-CLS tokens present per layer).</summary>
/// <param name="Lambda">λ of proportional attention per block.</param>
public sealed record TomePlanner(LambdaSchedule Lambda) : ITokenPlanner
{
    /// <summary>"tome", option lambda.</summary>
    public static MethodDefinition Definition { get; } = new("tome", [LambdaSchedule.Option], options => new TomePlanner(options.Lambda()));

    /// <inheritdoc/>
    public string Name => Definition.Name;

    /// <inheritdoc/>
    public IEnumerable<string> Options => Lambda == LambdaSchedule.One ? [] : [$"lambda={Lambda}"];

    /// <inheritdoc/>
    public bool TracksSizes => true;

    /// <inheritdoc/>
    public ReductionPlan Plan(in PlanningContext context)
    {
        int batch = context.Batch, tokens = context.Tokens;
        int a = (tokens + 1) / 2, b = tokens / 2;
        int r = Math.Min(context.Removed, a - 1);
        var plan = ReductionPlan.Unchanged;
        if (r > 0)
        {
            var device = context.Device;
            var destination = Tensor<int>.Empty(device, batch, tokens);
            var weight = Tensor<float>.Empty(device, batch, tokens);
            float lambda = Lambda.At(context.Layer + 1, context.Depth);
            var index = PlanIndex.Empty(device, batch, tokens, tokens - r, keyBias: lambda != 0f);
            TomeMatching.Match(context.Attention.Qkv.Value, context.Heads, context.Sizes!, r, destination, weight, index, lambda);
            int d = context.Attention.Qkv.Shape[2] / 3 / context.Heads;
            plan = ReductionPlan.Combine(destination, weight, tokens - r, normalize: true) with { Index = index, Macs = (double)(a - 1) * b * d };
        }
        return plan with { Lambda = Lambda.At(context.Layer + 1, context.Depth) };
    }
}
