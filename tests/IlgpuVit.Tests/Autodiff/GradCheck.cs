// One helper checks any differentiable op: run it on a tape with float32 kernels, pull a fixed
// random upstream gradient w back through it, and compare every input's gradient with central
// differences of the float64 reference of w · f(inputs). The forward is compared as well.
using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Autodiff;

public static class GradCheck
{
    /// <summary>An input: values, shape, and whether its gradient is checked.</summary>
    public sealed record Input(float[] Values, int[] Shape, bool RequiresGrad = true);

    /// <summary>
    /// Builds <paramref name="op"/> on a recording tape over <paramref name="inputs"/>, checks its output against
    /// <paramref name="reference"/> and each input's gradient against finite differences of the reference.
    /// </summary>
    public static void Run(Device device, Input[] inputs, Func<Tape, Variable[], Variable> op, Func<double[][], double[]> reference,
        double rtol = 2e-3, double atol = 2e-4, int seed = 1)
    {
        var variables = inputs.Select(i => new Variable(Tensor<float>.FromArray(device, i.Values, i.Shape), i.RequiresGrad)).ToArray();
        try
        {
            var x = inputs.Select(i => i.Values.ToDouble()).ToArray();
            var expected = reference(x);
            var w = TestData.Uniform(seed, expected.Length);
            using (var tape = new Tape())
            {
                var y = op(tape, variables);
                Check.Close(y.Value.ToArray(), expected, rtol, atol, "forward");
                tape.Backward(y, Tensor<float>.FromArray(device, w, y.Shape.Dims.ToArray()));
            }
            var wd = w.ToDouble();
            for (int k = 0; k < inputs.Length; k++)
            {
                if (!inputs[k].RequiresGrad) continue;
                int which = k;
                var numeric = FiniteDifference.Gradient(v =>
                {
                    var probe = (double[][])x.Clone();
                    probe[which] = v;
                    return FiniteDifference.Dot(wd, reference(probe));
                }, x[k]);
                var grad = variables[k].Grad ?? throw new Xunit.Sdk.XunitException($"input {k} got no gradient");
                Check.Close(grad.ToArray(), numeric, rtol, atol, $"gradient of input {k}");
            }
        }
        finally
        {
            foreach (var v in variables) v.Dispose();
        }
    }

    public static Input In(int seed, float scale, params int[] shape) => new(TestData.Uniform(seed, shape.Aggregate(1, (a, b) => a * b), scale), shape);
}
