// Mean cross-entropy with label smoothing over a batch of logits (the training loss). The forward
// keeps the softmax probabilities; the backward is p − target, scaled by dloss / B.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// The mean over the batch of the cross-entropy of <paramref name="logits"/> (B, classes) against
    /// <paramref name="labels"/> (B), with label smoothing; a one-element variable.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, classes) and (B).</exception>
    public Variable CrossEntropy(Variable logits, Tensor<int> labels, float labelSmoothing = 0f)
    {
        ShapeMismatchException.Require(logits.Shape.Rank == 2, "CrossEntropy", $"logits have shape {logits.Shape}; they need (B, classes).");
        int batch = logits.Shape[0];
        bool grad = Needs(logits);
        using var losses = Tensor<float>.Empty(logits.Device, 1, batch);
        var probabilities = grad ? Owned(Tensor<float>.Empty(logits.Device, logits.Shape.Dims.ToArray())) : null;
        Ops.CrossEntropy(logits.Value, labels, losses.Reshape(batch), labelSmoothing, probabilities);
        var loss = Output(logits, grad, 1);
        Ops.Mean(losses, loss.Value, axis: 1);
        if (grad)
            Record(() =>
            {
                if (loss.Grad is not { } dloss) return;
                float scale = dloss.ToArray()[0] / batch;
                Contribute(logits, dx => Ops.CrossEntropyBackward(probabilities!, labels, dx, labelSmoothing, scale));
            });
        return loss;
    }
}
