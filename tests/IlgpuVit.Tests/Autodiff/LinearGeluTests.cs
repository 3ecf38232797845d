using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Autodiff;

public class LinearGeluTests
{
    private static double Gelu(double x) => 0.5 * x * (1 + MathNet.Numerics.SpecialFunctions.Erf(x / Math.Sqrt(2)));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Is_gelu_of_the_linear_layer_fused_at_inference_and_composed_in_training(bool training)
    {
        const int rows = 13, inputs = 19, outputs = 37;
        var device = Backends.Cpu;
        var x = TestData.Uniform(1, rows * inputs);
        var w = TestData.Uniform(2, outputs * inputs);
        var b = TestData.Uniform(3, outputs);
        using var vx = new Variable(device.FromArray(x, rows, inputs));
        using var vw = new Variable(device.FromArray(w, outputs, inputs), requiresGrad: training);
        using var vb = new Variable(device.FromArray(b, outputs), requiresGrad: training);
        using var tape = training ? new Tape() : Tape.NoGrad();
        var y = tape.LinearGelu(vx, vw, vb);
        var expected = new double[rows * outputs];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < outputs; j++)
            {
                double acc = b[j];
                for (int k = 0; k < inputs; k++) acc += (double)x[i * inputs + k] * w[j * inputs + k];
                expected[i * outputs + j] = Gelu(acc);
            }
        Check.Close(y.Value.ToArray(), expected, 1e-5, 1e-5, training ? "composed" : "fused");
        tape.RecordedOps.Should().Be(training ? 2 : 0, "training records the Linear and the GELU for the backward");
    }
}
