// ToMe (docs/methods.md, method 6; Bolya et al., ICLR 2023): bipartite soft matching on the keys averaged
// over heads. A = even tokens (CLS among them), B = odd; each A token's best B partner by cosine
// (Ops.BestMatch, CLS excluded); the r A tokens with the best scores merge into their partners by
// size-weighted mean (TomeMatching; sizes add); unmerged A tokens in order, then B. Proportional
// attention adds λ log(size) to the next block's logits (λ = 1 by default; 0 turns it off).
// "cls=0" is ToMe without a class token (docs/methods.md, method 6): token 0 may merge like any other,
// r ≤ ⌊T/2⌋, and the unmerged A tokens go on in descending score order, as merge.py leaves them.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Reduction;

/// <summary>Token merging (ToMe's r, or any other rate, at most half the non-CLS tokens present per layer).</summary>
/// <param name="Lambda">λ of proportional attention per block.</param>
/// <param name="ClassToken">Whether token 0 is a class token that never merges and stays first (ToMe's class_token=True);
/// false for models without one: every A token may merge and the unmerged ones keep ToMe's descending score order.</param>
public sealed record TomePlanner(LambdaSchedule Lambda, bool ClassToken = true) : ITokenPlanner
{
    /// <summary>"tome", options lambda and cls (1, the default, protects token 0; 0 for a model without a class token).</summary>
    public static MethodDefinition Definition { get; } = new("tome", [LambdaSchedule.Option, new("cls", "cls=1|0")],
        options => new TomePlanner(options.Lambda(), options.Take("cls") switch
        {
            null or "1" => true,
            "0" => false,
            var other => throw new FormatException($"tome's cls is 1 (token 0 is a class token, the default) or 0 (no class token), got '{other}'."),
        }));

    /// <inheritdoc/>
    public string Name => Definition.Name;

    /// <inheritdoc/>
    public IEnumerable<string> Options
    {
        get
        {
            if (Lambda != LambdaSchedule.One) yield return $"lambda={Lambda}";
            if (!ClassToken) yield return "cls=0";
        }
    }

    /// <inheritdoc/>
    public bool TracksSizes => true;

    /// <inheritdoc/>
    public AttentionExtras Reads => AttentionExtras.HeadMeanKeys;   // the keys are ToMe's metric, not the CLS attention

    /// <inheritdoc/>
    public ReductionPlan Plan(in PlanningContext context)
    {
        int batch = context.Batch, tokens = context.Tokens;
        int a = (tokens + 1) / 2, b = tokens / 2;
        int r = Math.Min(context.Removed, ClassToken ? a - 1 : b);
        var plan = ReductionPlan.Unchanged;
        if (r > 0)
        {
            var device = context.Device;
            var destination = Tensor<int>.Empty(device, batch, tokens);
            var weight = Tensor<float>.Empty(device, batch, tokens);
            float lambda = Lambda.At(context.Layer + 1, context.Depth);
            var index = PlanIndex.Empty(device, batch, tokens, tokens - r, keyBias: lambda != 0f);
            var combined = Tensor<float>.Empty(device, batch, tokens - r, context.X.Shape[2]);
            TomeMatching.Match(context.Attention.Qkv.Value, context.Heads, context.Sizes!, r, destination, weight, index, lambda, ClassToken,
                context.X, combined, context.Attention.HeadMeanKeys);
            int d = context.Attention.Qkv.Shape[2] / 3 / context.Heads, scored = ClassToken ? a - 1 : a;
            plan = ReductionPlan.Combine(destination, weight, tokens - r, normalize: true) with
            {
                Index = index, Combined = combined, Macs = (double)scored * b * d,
            };
        }
        return plan with { Lambda = Lambda.At(context.Layer + 1, context.Depth) };
    }
}
