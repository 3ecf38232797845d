// AdamW (Loshchilov & Hutter 2019) with torch.optim.AdamW's update; weight decay is decoupled and
// applied only to matrices: not to biases, norms, the position embedding or the class token (the
// usual ViT recipe, timm's param_groups_weight_decay).

using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Training;

/// <summary>AdamW with per-parameter first and second moments.</summary>
public sealed class AdamW : Optimizer
{
    private readonly Tensor<float>[] _m, _v;
    private readonly bool[] _decay;

    /// <summary>AdamW over <paramref name="parameters"/>.</summary>
    public AdamW(IEnumerable<Variable> parameters, float weightDecay = 0.05f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f)
        : base(parameters)
    {
        (WeightDecay, Beta1, Beta2, Eps) = (weightDecay, beta1, beta2, eps);
        _m = Parameters.Select(StateLike).ToArray();
        _v = Parameters.Select(StateLike).ToArray();
        _decay = Parameters.Select(Decays).ToArray();
    }

    /// <summary>Decoupled weight decay (on matrices only).</summary>
    public float WeightDecay { get; }

    /// <summary>First-moment decay.</summary>
    public float Beta1 { get; }

    /// <summary>Second-moment decay.</summary>
    public float Beta2 { get; }

    /// <summary>Denominator epsilon.</summary>
    public float Eps { get; }

    /// <summary>Whether weight decay applies: matrices and conv kernels, not biases, norms, pos_embed or cls_token.</summary>
    public static bool Decays(Variable p) => p.Shape.Rank >= 2 && p.Name is not ("pos_embed" or "cls_token");

    /// <inheritdoc/>
    protected override void Update(int index, Variable parameter, Tensor<float> grad, float lr) =>
        Ops.AdamWStep(parameter.Value, grad, _m[index], _v[index], lr, Beta1, Beta2, Eps, _decay[index] ? WeightDecay : 0f, StepCount);

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Tensor<float> Value)> State()
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            yield return ("adamw.m." + Parameters[i].Name, _m[i]);
            yield return ("adamw.v." + Parameters[i].Name, _v[i]);
        }
    }
}
