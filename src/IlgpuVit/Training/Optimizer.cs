// Base of the optimizers: a list of parameters, a step counter and per-parameter state tensors
// (named for checkpoints). Parameters whose gradient backward never reached are skipped.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Training;

/// <summary>Updates parameters from their gradients.</summary>
public abstract class Optimizer : IDisposable
{
    /// <summary>An optimizer over <paramref name="parameters"/> (each must require a gradient and have a name).</summary>
    /// <exception cref="ArgumentException">A parameter does not require a gradient, or two share a name.</exception>
    protected Optimizer(IEnumerable<Variable> parameters)
    {
        Parameters = parameters.ToArray();
        foreach (var p in Parameters)
            if (!p.RequiresGrad) throw new ArgumentException($"Optimizer: parameter {p.Name ?? p.ToString()} does not require a gradient.");
        var duplicate = Parameters.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Optimizer: two parameters are named '{duplicate.Key}'.");
    }

    /// <summary>The parameters, in order.</summary>
    public IReadOnlyList<Variable> Parameters { get; }

    /// <summary>Updates applied so far.</summary>
    public int StepCount { get; set; }

    /// <summary>Applies one update with learning rate <paramref name="lr"/>, then counts the step.</summary>
    public void Step(float lr)
    {
        StepCount++;
        for (int i = 0; i < Parameters.Count; i++)
            if (Parameters[i].Grad is { } grad) Update(i, Parameters[i], grad, lr);
    }

    /// <summary>Releases every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>Updates parameter <paramref name="index"/> from its gradient.</summary>
    protected abstract void Update(int index, Variable parameter, Tensor<float> grad, float lr);

    /// <summary>The state tensors by checkpoint name (e.g. "adamw.m.head.weight"), for saving and loading.</summary>
    public abstract IEnumerable<(string Name, Tensor<float> Value)> State();

    /// <summary>A zeroed state tensor shaped like <paramref name="p"/>.</summary>
    protected static Tensor<float> StateLike(Variable p) => Tensor<float>.Zeros(p.Device, p.Shape.Dims.ToArray());

    /// <summary>Releases the state tensors.</summary>
    public void Dispose()
    {
        foreach (var (_, value) in State()) value.Dispose();
        GC.SuppressFinalize(this);
    }
}
