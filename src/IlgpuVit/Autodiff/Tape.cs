// The reverse-mode tape: every differentiable op runs its forward kernels at once and, when one of
// its inputs needs a gradient, records a closure that runs its backward kernels. Ops run in
// program order, so the record is already a topological order and backward is a reverse loop.
// The tape owns every intermediate it creates (outputs and saved tensors such as LayerNorm's
// statistics) and returns them to the pool after backward or on Dispose. A no-grad tape records
// nothing and saves nothing beyond what the forward needs; it still frees its intermediates.
// The ops live beside this file, one per file, each forward next to its backward (partial class).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

/// <summary>Records differentiable operations and runs their backward in reverse order.</summary>
/// <example>
/// <code>
/// using var tape = new Tape();
/// var logits = model.Forward(tape, images);
/// var loss = tape.CrossEntropy(logits, labels);
/// float value = loss.Value.ToArray()[0];
/// tape.Backward(loss);              // parameters now hold gradients; activations are released
/// </code>
/// </example>
public sealed partial class Tape : IDisposable
{
    private readonly List<Action> _backward = [];
    private readonly List<IDisposable> _owned = [];

    /// <summary>A tape that records gradients (<paramref name="recordGradients"/> true) or only runs forwards.</summary>
    public Tape(bool recordGradients = true) => RecordsGradients = recordGradients;

    /// <summary>A tape for inference: nothing is recorded.</summary>
    public static Tape NoGrad() => new(recordGradients: false);

    /// <summary>Whether ops record their backward.</summary>
    public bool RecordsGradients { get; }

    /// <summary>How many backward closures are recorded (for tests and diagnostics).</summary>
    public int RecordedOps => _backward.Count;

    /// <summary>
    /// Runs every recorded backward in reverse, starting from d<paramref name="loss"/> = 1 (a one-element
    /// variable), then releases all intermediates. Parameter gradients add to what they held.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing was recorded, or the loss is not a scalar.</exception>
    public void Backward(Variable loss)
    {
        if (!RecordsGradients) throw new InvalidOperationException("Backward on a no-grad tape: create the tape with recordGradients: true.");
        if (loss.Shape.Length != 1) throw new InvalidOperationException($"Backward needs a one-element loss; got shape {loss.Shape}.");
        Backward(loss, Tensor<float>.FromArray(loss.Device, [1f], loss.Shape.Dims.ToArray()));
    }

    /// <summary>
    /// Runs every recorded backward in reverse from d<paramref name="output"/> = <paramref name="gradient"/>
    /// (a vector-Jacobian product; the tape takes ownership of the gradient), then releases all intermediates.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tape records nothing, or the output needs no gradient.</exception>
    /// <exception cref="ShapeMismatchException">The gradient is not shaped like the output.</exception>
    public void Backward(Variable output, Tensor<float> gradient)
    {
        if (!RecordsGradients) throw new InvalidOperationException("Backward on a no-grad tape: create the tape with recordGradients: true.");
        if (!output.RequiresGrad) throw new InvalidOperationException("Backward: the output does not depend on any variable that requires a gradient.");
        ShapeMismatchException.ThrowIfDifferent("Backward", "gradient", output.Shape, gradient.Shape);
        output.SetGrad(gradient);
        for (int i = _backward.Count - 1; i >= 0; i--) _backward[i]();
        _backward.Clear();
        Release();
    }

    /// <summary>Releases every intermediate this tape created.</summary>
    public void Dispose()
    {
        _backward.Clear();
        Release();
    }

    private void Release()
    {
        foreach (var item in _owned) item.Dispose();
        _owned.Clear();
    }

    /// <summary>Whether an op with these inputs must record a backward.</summary>
    private bool Needs(Variable a, Variable? b = null, Variable? c = null) =>
        RecordsGradients && (a.RequiresGrad || b?.RequiresGrad == true || c?.RequiresGrad == true);

    /// <summary>A new intermediate variable on <paramref name="like"/>'s device, owned by this tape.</summary>
    private Variable Output(Variable like, bool requiresGrad, params int[] shape) => Output(like.Device, requiresGrad, shape);

    /// <summary>A new intermediate variable on <paramref name="device"/>, owned by this tape.</summary>
    private Variable Output(Device device, bool requiresGrad, params int[] shape)
    {
        var v = new Variable(Tensor<float>.Empty(device, shape), requiresGrad);
        _owned.Add(v);
        return v;
    }

    /// <summary>
    /// Hands <paramref name="tensor"/> to this tape, which disposes it with the intermediates (after backward or
    /// on Dispose): for tensors an op's backward still reads, such as a reducer's kept-token index.
    /// </summary>
    public Tensor<T> Keep<T>(Tensor<T> tensor) where T : unmanaged => Owned(tensor);

    /// <summary>A tensor owned by this tape (saved statistics, scratch of a backward).</summary>
    private Tensor<T> Owned<T>(Tensor<T> tensor) where T : unmanaged
    {
        _owned.Add(tensor);
        return tensor;
    }

    private void Record(Action backward) => _backward.Add(backward);

    /// <summary>
    /// Adds a contribution to <paramref name="v"/>'s gradient: <paramref name="write"/> fills a buffer
    /// shaped like v; on the first contribution that buffer is the gradient itself, later ones go
    /// through scratch and are added.
    /// </summary>
    private static void Contribute(Variable v, Action<Tensor<float>> write)
    {
        var grad = v.GradBuffer(out bool accumulate);
        if (!accumulate)
        {
            write(grad);
            return;
        }
        using var scratch = Tensor<float>.Empty(v.Device, v.Shape.Dims.ToArray());
        write(scratch);
        Ops.Add(grad, scratch, grad);
    }

    /// <summary>Adds <paramref name="dy"/> (shaped like v) to <paramref name="v"/>'s gradient.</summary>
    private static void Contribute(Variable v, Tensor<float> dy)
    {
        var grad = v.GradBuffer(out bool accumulate);
        if (accumulate) Ops.Add(grad, dy, grad);
        else Ops.Copy(dy, grad);
    }
}
