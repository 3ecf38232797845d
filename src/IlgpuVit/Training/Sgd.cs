// SGD with momentum as torch.optim.SGD (dampening 0, optional Nesterov); weight decay is L2 added to
// the gradient, applied to the same parameters AdamW decays.

using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Training;

/// <summary>Stochastic gradient descent with momentum.</summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor<float>[] _velocity;
    private readonly bool[] _decay;

    /// <summary>SGD over <paramref name="parameters"/>.</summary>
    public Sgd(IEnumerable<Variable> parameters, float momentum = 0.9f, float weightDecay = 0f, bool nesterov = false) : base(parameters)
    {
        (Momentum, WeightDecay, Nesterov) = (momentum, weightDecay, nesterov);
        _velocity = Parameters.Select(StateLike).ToArray();
        _decay = Parameters.Select(AdamW.Decays).ToArray();
    }

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>L2 weight decay (on matrices only).</summary>
    public float WeightDecay { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override void Update(int index, Variable parameter, Tensor<float> grad, float lr) =>
        Ops.SgdStep(parameter.Value, grad, _velocity[index], lr, Momentum, _decay[index] ? WeightDecay : 0f, Nesterov, firstStep: StepCount == 1);

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Tensor<float> Value)> State()
    {
        for (int i = 0; i < Parameters.Count; i++) yield return ("sgd.velocity." + Parameters[i].Name, _velocity[i]);
    }
}
