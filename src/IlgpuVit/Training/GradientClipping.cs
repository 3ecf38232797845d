// The global gradient norm, ||g|| over all parameters together, and clipping by it
// (torch.nn.utils.clip_grad_norm_: scale every gradient by max / (norm + 1e-6) when that is below 1).
// The norm is also what the pruning-rate controller (GAS) reads. One squared-norm kernel per
// parameter writes into one small tensor, read back once.

using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Training;

/// <summary>Global gradient norm and clipping.</summary>
public static class GradientClipping
{
    /// <summary>The L2 norm of all gradients of <paramref name="parameters"/> together (missing gradients count as zero).</summary>
    public static float GlobalNorm(IReadOnlyList<Variable> parameters)
    {
        if (parameters.Count == 0) return 0f;
        using var squares = Tensor<float>.Zeros(parameters[0].Device, parameters.Count);
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is { } g) Ops.SumOfSquares(g, squares, i);
        double total = 0;
        foreach (var s in squares.ToArray()) total += s;
        return (float)Math.Sqrt(total);
    }

    /// <summary>
    /// Scales the gradients so their global norm is at most <paramref name="maxNorm"/>; returns the norm
    /// before clipping. A non-positive or infinite max only measures.
    /// </summary>
    public static float ClipByGlobalNorm(IReadOnlyList<Variable> parameters, float maxNorm)
    {
        float norm = GlobalNorm(parameters);
        float coefficient = maxNorm / (norm + 1e-6f);
        if (maxNorm > 0 && float.IsFinite(maxNorm) && coefficient < 1f)
            foreach (var p in parameters)
                if (p.Grad is { } g) Ops.Scale(g, g, coefficient);
        return norm;
    }
}
