// Fused per-parameter optimizer updates with torch semantics: one pass reads the parameter, its
// gradient and the optimizer state, and writes the new parameter and state.
//   AdamW (torch.optim.AdamW, Loshchilov & Hutter 2019), step t counted from 1:
//     p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
//     p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   SGD with momentum (torch.optim.SGD, dampening 0):
//     g' = g + wd p;  buf <- g' at the first step, else momentum buf + g';
//     p <- p - lr (nesterov ? g' + momentum buf : buf)
// The bias corrections are computed on the host in double (as torch does in Python floats), so the
// kernel needs no pow. Each update is one struct (IParameterUpdate) specialised by one generic
// kernel, as the maps of Elementwise.cs; the state tensors overwrite in place.
// Geometry as the maps: 4096 elements per kernel index on the CPU (Vector512), one on GPUs.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

/// <summary>An in-place update of a parameter from its gradient and up to two state tensors.</summary>
internal interface IParameterUpdate
{
    /// <summary>Updates element <paramref name="i"/>. Must compile with ILGPU.</summary>
    void Apply(ArrayView<float> param, ArrayView<float> grad, ArrayView<float> first, ArrayView<float> second, int i);

    /// <summary>Updates the 16 elements at the given addresses (CPU fast path).</summary>
    unsafe void Apply(float* param, float* grad, float* first, float* second);
}

/// <summary>One AdamW step; first is the moment m, second the squared moment v.</summary>
internal readonly record struct AdamWUpdate(float Decay, float Beta1, float Beta2, float StepSize, float InvSqrtCorrection2, float Eps)
    : IParameterUpdate
{
    public void Apply(ArrayView<float> param, ArrayView<float> grad, ArrayView<float> first, ArrayView<float> second, int i)
    {
        float g = grad[i];
        float m = Beta1 * first[i] + (1f - Beta1) * g;
        float v = Beta2 * second[i] + (1f - Beta2) * g * g;
        first[i] = m;
        second[i] = v;
        param[i] = param[i] * Decay - StepSize * m / (MathF.Sqrt(v) * InvSqrtCorrection2 + Eps);
    }

    public unsafe void Apply(float* param, float* grad, float* first, float* second)
    {
        var g = Vector512.Load(grad);
        var m = Vector512.Create(Beta1) * Vector512.Load(first) + Vector512.Create(1f - Beta1) * g;
        var v = Vector512.Create(Beta2) * Vector512.Load(second) + Vector512.Create(1f - Beta2) * g * g;
        m.Store(first);
        v.Store(second);
        var denominator = Vector512.Sqrt(v) * Vector512.Create(InvSqrtCorrection2) + Vector512.Create(Eps);
        (Vector512.Load(param) * Vector512.Create(Decay) - Vector512.Create(StepSize) * m / denominator).Store(param);
    }
}

/// <summary>One SGD step with momentum; first is the momentum buffer, second is unused.</summary>
internal readonly record struct SgdUpdate(float Lr, float Momentum, float WeightDecay, int Nesterov, int FirstStep) : IParameterUpdate
{
    public void Apply(ArrayView<float> param, ArrayView<float> grad, ArrayView<float> first, ArrayView<float> second, int i)
    {
        float p = param[i];
        float g = grad[i] + WeightDecay * p;
        float buffer = FirstStep != 0 ? g : Momentum * first[i] + g;
        first[i] = buffer;
        param[i] = p - Lr * (Nesterov != 0 ? g + Momentum * buffer : buffer);
    }

    public unsafe void Apply(float* param, float* grad, float* first, float* second)
    {
        var p = Vector512.Load(param);
        var g = Vector512.Load(grad) + Vector512.Create(WeightDecay) * p;
        var buffer = FirstStep != 0 ? g : Vector512.Create(Momentum) * Vector512.Load(first) + g;
        buffer.Store(first);
        var step = Nesterov != 0 ? g + Vector512.Create(Momentum) * buffer : buffer;
        (p - Vector512.Create(Lr) * step).Store(param);
    }
}

public static partial class Ops
{
    /// <summary>
    /// One AdamW step (torch.optim.AdamW) on <paramref name="param"/>, in place, from
    /// <paramref name="grad"/>, updating the moments <paramref name="m"/> and <paramref name="v"/>
    /// (all four of one shape; m and v start at zero). <paramref name="step"/> counts from 1.
    /// </summary>
    /// <exception cref="ShapeMismatchException">grad, m or v differs from param's shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is outside its range (lr &gt;= 0, betas in [0, 1), eps &gt; 0, weight decay &gt;= 0, step &gt;= 1).</exception>
    public static void AdamWStep(Tensor<float> param, Tensor<float> grad, Tensor<float> m, Tensor<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        const string op = "AdamWStep";
        OnOneDevice(op, param, grad, m, v);
        ShapeMismatchException.ThrowIfDifferent(op, "grad", param.Shape, grad.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "m", param.Shape, m.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "v", param.Shape, v.Shape);
        RequireRange(op, nameof(lr), lr, lr >= 0f && float.IsFinite(lr), "a finite value >= 0");
        RequireRange(op, nameof(beta1), beta1, beta1 >= 0f && beta1 < 1f, "[0, 1)");
        RequireRange(op, nameof(beta2), beta2, beta2 >= 0f && beta2 < 1f, "[0, 1)");
        RequireRange(op, nameof(eps), eps, eps > 0f && float.IsFinite(eps), "a finite value > 0");
        RequireRange(op, nameof(weightDecay), weightDecay, weightDecay >= 0f && float.IsFinite(weightDecay), "a finite value >= 0");
        RequireRange(op, nameof(step), step, step >= 1, "1 or more (steps count from 1)");
        double correction1 = 1 - Math.Pow(beta1, step), correction2 = 1 - Math.Pow(beta2, step);
        var update = new AdamWUpdate((float)(1 - (double)lr * weightDecay), beta1, beta2, (float)(lr / correction1),
            (float)(1 / Math.Sqrt(correction2)), eps);
        UpdateParameter(op, param, grad, m, v, update);
    }

    /// <summary>
    /// One SGD step with momentum (torch.optim.SGD, dampening 0) on <paramref name="param"/>, in place,
    /// from <paramref name="grad"/>, updating the momentum buffer <paramref name="velocity"/> (all of
    /// one shape). At <paramref name="firstStep"/> the buffer is set to the gradient, as torch does.
    /// </summary>
    /// <exception cref="ShapeMismatchException">grad or velocity differs from param's shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">lr, momentum or weight decay is negative or not finite.</exception>
    public static void SgdStep(Tensor<float> param, Tensor<float> grad, Tensor<float> velocity, float lr, float momentum,
        float weightDecay, bool nesterov, bool firstStep)
    {
        const string op = "SgdStep";
        OnOneDevice(op, param, grad, velocity);
        ShapeMismatchException.ThrowIfDifferent(op, "grad", param.Shape, grad.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "velocity", param.Shape, velocity.Shape);
        RequireRange(op, nameof(lr), lr, lr >= 0f && float.IsFinite(lr), "a finite value >= 0");
        RequireRange(op, nameof(momentum), momentum, momentum >= 0f && float.IsFinite(momentum), "a finite value >= 0");
        RequireRange(op, nameof(weightDecay), weightDecay, weightDecay >= 0f && float.IsFinite(weightDecay), "a finite value >= 0");
        UpdateParameter(op, param, grad, velocity, param, new SgdUpdate(lr, momentum, weightDecay, nesterov ? 1 : 0, firstStep ? 1 : 0));
    }

    private static void RequireRange<T>(string op, string name, T value, bool ok, string range)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{op}: {name} is {value}; it must be {range}.");
    }

    private static void UpdateParameter<TUpdate>(string op, Tensor<float> param, Tensor<float> grad, Tensor<float> first, Tensor<float> second,
        TUpdate update) where TUpdate : struct, IParameterUpdate
    {
        int n = CheckedLength(op, param);
        int chunk = ElementwiseChunkOf(param.Device);
        var launch = param.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, TUpdate>(UpdateParameterKernel, group));
        launch(param.Device.Accelerator.DefaultStream, (n + chunk - 1) / chunk, param.View, grad.View, first.View, second.View, n, chunk, update);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void UpdateParameterKernel<TUpdate>(Index1D index, ArrayView<float> param, ArrayView<float> grad,
        ArrayView<float> first, ArrayView<float> second, int n, int chunk, TUpdate update) where TUpdate : struct, IParameterUpdate
    {
        int start = index * chunk;
        UpdateParameterChunk(param, grad, first, second, start, Math.Min(chunk, n - start), update);
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(UpdateParameterChunkPortable))]
    internal static unsafe void UpdateParameterChunk<TUpdate>(ArrayView<float> param, ArrayView<float> grad, ArrayView<float> first,
        ArrayView<float> second, int start, int count, TUpdate update) where TUpdate : struct, IParameterUpdate
    {
        float* p = FastMath.Address(param, start), g = FastMath.Address(grad, start);
        float* s1 = FastMath.Address(first, start), s2 = FastMath.Address(second, start);
        int j = 0;
        for (; j + 16 <= count; j += 16) update.Apply(p + j, g + j, s1 + j, s2 + j);
        for (j += start; j < start + count; j++) update.Apply(param, grad, first, second, j);
    }

    internal static void UpdateParameterChunkPortable<TUpdate>(ArrayView<float> param, ArrayView<float> grad, ArrayView<float> first,
        ArrayView<float> second, int start, int count, TUpdate update) where TUpdate : struct, IParameterUpdate
    {
        for (int j = start; j < start + count; j++) update.Apply(param, grad, first, second, j);
    }
}
