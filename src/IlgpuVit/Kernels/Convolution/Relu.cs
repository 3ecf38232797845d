// ReLU, max(x, 0), and its backward dy [x > 0] (torch's convention: the gradient at 0 is 0), as
// elementwise op structs over the generic maps of Elementwise.cs. The ResNet stem and bottlenecks use it.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

/// <summary>max(x, 0).</summary>
public readonly struct ReluOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => x > 0f ? x : 0f;

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);
}

/// <summary>The ReLU backward as a binary op: Apply(x, dy) = dy where x &gt; 0, else 0.</summary>
public readonly struct ReluBackwardOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a > 0f ? b : 0f;

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(a, Vector512<float>.Zero), b, Vector512<float>.Zero);
}

public static partial class Ops
{
    /// <summary>y = max(x, 0) elementwise; y may be x.</summary>
    /// <exception cref="ShapeMismatchException">y's shape differs from x's.</exception>
    public static void Relu(Tensor<float> x, Tensor<float> y) => Map(x, y, new ReluOp());

    /// <summary>
    /// Backward of <see cref="Relu"/>: <paramref name="dx"/> = <paramref name="dy"/> where the forward input
    /// <paramref name="x"/> (or its output, which has the same sign pattern) is positive, else 0. dx may be dy.
    /// </summary>
    /// <exception cref="ShapeMismatchException">dy or dx differs from x's shape.</exception>
    public static void ReluBackward(Tensor<float> x, Tensor<float> dy, Tensor<float> dx) => MapBackward(x, dy, dx, new ReluBackwardOp());
}
