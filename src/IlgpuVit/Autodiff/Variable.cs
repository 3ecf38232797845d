// A tensor that takes part in reverse-mode differentiation: its value, and the gradient of the
// loss with respect to it once Tape.Backward has run.
// Gradient convention (micrograd's `+=`, llm.c's `d` buffers): the first contribution a backward
// makes to a gradient writes it, every later one adds, so a value used twice needs no special case
// and nothing is zero-filled. Parameters keep their gradient across backwards until ZeroGrad (which
// releases it to the pool), so gradients of several batches accumulate.

using IlgpuVit.Runtime;

namespace IlgpuVit.Autodiff;

/// <summary>
/// A float tensor with an optional gradient. Parameters are variables created with
/// <c>requiresGrad: true</c> and owned by their module; intermediate variables are created and owned
/// by a <see cref="Tape"/>.
/// </summary>
public sealed class Variable : IDisposable
{
    /// <summary>Wraps <paramref name="value"/> (the variable owns it and disposes it).</summary>
    /// <param name="value">The values.</param>
    /// <param name="requiresGrad">Whether backward computes this variable's gradient.</param>
    /// <param name="name">A name for messages and checkpoints, e.g. "blocks.0.attn.qkv.weight".</param>
    public Variable(Tensor<float> value, bool requiresGrad = false, string? name = null)
    {
        Value = value;
        RequiresGrad = requiresGrad;
        Name = name;
    }

    /// <summary>The values.</summary>
    public Tensor<float> Value { get; }

    /// <summary>The gradient of the last backward(s), shaped like <see cref="Value"/>; null until one reaches it.</summary>
    public Tensor<float>? Grad { get; private set; }

    /// <summary>Whether backward computes this variable's gradient.</summary>
    public bool RequiresGrad { get; }

    /// <summary>A name for messages and checkpoints.</summary>
    public string? Name { get; }

    /// <summary>The shape of the value.</summary>
    public Shape Shape => Value.Shape;

    /// <summary>The device of the value.</summary>
    public Device Device => Value.Device;

    /// <summary>Releases the gradient, so the next backward writes it afresh.</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>
    /// The gradient buffer a backward writes into, and whether it must add (a gradient already
    /// exists) or may overwrite (first contribution; the buffer is uninitialised).
    /// </summary>
    internal Tensor<float> GradBuffer(out bool accumulate)
    {
        accumulate = Grad is not null;
        return Grad ??= Tensor<float>.Empty(Device, Shape.Dims.ToArray());
    }

    /// <summary>The gradient buffer for kernels that always add: zero-filled on first use.</summary>
    internal Tensor<float> ZeroedGradBuffer() => Grad ??= Tensor<float>.Zeros(Device, Shape.Dims.ToArray());

    /// <summary>Sets the gradient (the tape seeds the loss with 1).</summary>
    internal void SetGrad(Tensor<float> grad)
    {
        Grad?.Dispose();
        Grad = grad;
    }

    /// <summary>Releases the value and the gradient.</summary>
    public void Dispose()
    {
        Grad?.Dispose();
        Grad = null;
        Value.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"Variable {Name ?? ""}{Shape}{(RequiresGrad ? " (grad)" : "")}";
}
