// Every differentiable op's forward against float64 and its gradients against finite differences,
// on odd and round shapes; plus the gradient conventions (accumulation when a value is used twice,
// no recording on a no-grad tape, activations released after backward).
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using static IlgpuVit.Tests.Autodiff.GradCheck;

namespace IlgpuVit.Tests.Autodiff;

public class OpGradientTests
{
    private static Device Cpu => Backends.Cpu;

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 5, 3)]
    [InlineData(33, 31, 17)]
    [InlineData(2, 32, 64)]
    public void Linear_with_bias_and_residual(int rows, int inputs, int outputs) =>
        Run(Cpu, [In(1, 1f, rows, inputs), In(2, 0.5f, outputs, inputs), In(3, 1f, outputs), In(4, 1f, rows, outputs)],
            (t, v) => t.Linear(v[0], v[1], v[2], v[3]),
            x => Reference.Add(Reference.Linear(x[0], x[1], x[2], rows, inputs, outputs), x[3]));

    [Theory]
    [InlineData(1, 8)]
    [InlineData(7, 31)]
    [InlineData(5, 64)]
    public void LayerNorm(int rows, int channels) =>
        Run(Cpu, [In(1, 2f, rows, channels), In(2, 1f, channels), In(3, 1f, channels)],
            (t, v) => t.LayerNorm(v[0], v[1], v[2]),
            x => Reference.LayerNorm(x[0], x[1], x[2], channels));

    [Theory]
    [InlineData(1)]
    [InlineData(197)]
    public void Gelu(int n) => Run(Cpu, [In(1, 3f, n)], (t, v) => t.Gelu(v[0]), x => Reference.Gelu(x[0]));

    [Fact]
    public void Add_broadcasts_a_position_embedding() =>
        Run(Cpu, [In(1, 1f, 3, 5, 7), In(2, 1f, 5, 7)], (t, v) => t.Add(v[0], v[1]), x => Reference.Add(x[0], x[1]));

    [Theory]
    [InlineData(1, 1, 4, 1, false)]
    [InlineData(2, 7, 8, 2, false)]
    [InlineData(2, 5, 12, 3, true)]
    [InlineData(1, 33, 8, 2, true)]
    public void Attention(int batch, int tokens, int channels, int heads, bool withBias)
    {
        var bias = TestData.Uniform(9, batch * tokens, 1f);
        using var biasTensor = Tensor<float>.FromArray(Cpu, bias, batch, tokens);
        Run(Cpu, [In(1, 1f, batch, tokens, 3 * channels)],
            (t, v) => t.Attention(v[0], heads, withBias ? biasTensor : null, out _, out _),
            x => Reference.Attention(x[0], batch, tokens, channels, heads, withBias ? bias.ToDouble() : null));
    }

    [Fact]
    public void GatherRows_adds_gradients_of_repeated_rows()
    {
        int[] index = [0, 2, 2, 1, 1, 1];
        using var indexTensor = Tensor<int>.FromArray(Cpu, index, 2, 3);
        Run(Cpu, [In(1, 1f, 2, 4, 5)], (t, v) => t.GatherRows(v[0], indexTensor), x => Reference.GatherRows(x[0], index, 2, 4, 5));
    }

    [Theory]
    [InlineData(1, 2, 0f)]
    [InlineData(7, 10, 0.1f)]
    [InlineData(33, 5, 0.3f)]
    public void CrossEntropy(int batch, int classes, float smoothing)
    {
        var labels = Enumerable.Range(0, batch).Select(i => i * 7 % classes).ToArray();
        using var labelTensor = Tensor<int>.FromArray(Cpu, labels, batch);
        Run(Cpu, [In(1, 3f, batch, classes)], (t, v) => t.CrossEntropy(v[0], labelTensor, smoothing),
            x => [Reference.CrossEntropy(x[0], labels, classes, smoothing)]);
    }

    [Fact]
    public void PrependClassToken_and_Reshape()
    {
        static double[] Reference(double[][] x)
        {
            var y = new List<double>();
            for (int b = 0; b < 3; b++)
            {
                y.AddRange(x[1]);
                y.AddRange(x[0].AsSpan(b * 4 * 6, 4 * 6).ToArray());
            }
            return [.. y];
        }
        Run(Cpu, [In(1, 1f, 3, 4, 6), In(2, 1f, 1, 1, 6)], (t, v) => t.Reshape(t.PrependClassToken(v[0], v[1]), 15, 6), Reference);
    }

    [Theory]
    [InlineData(1, 2, 1)]
    [InlineData(3, 7, 5)]
    [InlineData(2, 50, 33)]
    public void MeanTokens_averages_all_but_the_class_token(int batch, int tokens, int channels)
    {
        double[] Mean(double[][] x)
        {
            var y = new double[batch * channels];
            for (int b = 0; b < batch; b++)
                for (int t = 1; t < tokens; t++)
                    for (int c = 0; c < channels; c++) y[b * channels + c] += x[0][(b * tokens + t) * channels + c] / (tokens - 1);
            return y;
        }
        Run(Cpu, [In(1, 1f, batch, tokens, channels)], (t, v) => t.MeanTokens(v[0]), Mean);
    }

    [Fact]
    public void A_value_used_twice_gets_the_sum_of_both_gradients()
    {
        // y = x Wᵀ + x: x feeds the GEMM and the residual.
        Run(Cpu, [In(1, 1f, 5, 6), In(2, 1f, 6, 6)], (t, v) => t.Linear(v[0], v[1], residual: v[0]),
            x => Reference.Add(Reference.Linear(x[0], x[1], null, 5, 6, 6), x[0]));
    }

    [Fact]
    public void Parameter_gradients_accumulate_across_backwards_until_ZeroGrad()
    {
        using var w = new Variable(Tensor<float>.FromArray(Cpu, TestData.Uniform(1, 12), 3, 4), requiresGrad: true, "w");
        using var x = new Variable(Tensor<float>.FromArray(Cpu, TestData.Uniform(2, 8), 2, 4));
        float[] Once()
        {
            using var tape = new Tape();
            var y = tape.Linear(x, w);
            tape.Backward(y, Tensor<float>.FromArray(Cpu, TestData.Uniform(3, 6), 2, 3));
            return w.Grad!.ToArray();
        }
        var first = Once();
        var second = Once();
        Check.Close(second, first.Select(g => 2.0 * g).ToArray(), 1e-6, 1e-6, "twice-accumulated gradient");
        w.ZeroGrad();
        w.Grad.Should().BeNull();
        Check.Close(Once(), first.ToDouble(), 0, 0, "gradient after ZeroGrad");
    }

    [Fact]
    public void A_no_grad_tape_records_nothing_and_refuses_backward()
    {
        using var w = new Variable(Tensor<float>.FromArray(Cpu, TestData.Uniform(1, 12), 3, 4), requiresGrad: true, "w");
        using var x = new Variable(Tensor<float>.FromArray(Cpu, TestData.Uniform(2, 8), 2, 4));
        using var tape = Tape.NoGrad();
        var y = tape.Gelu(tape.Linear(x, w));
        tape.RecordedOps.Should().Be(0);
        y.RequiresGrad.Should().BeFalse();
        var act = () => tape.Backward(tape.Reshape(y, 6));
        act.Should().Throw<InvalidOperationException>().WithMessage("*no-grad*");
    }

    [Fact]
    public void Backward_releases_the_activations_to_the_pool()
    {
        using var device = Device.Open("cpu");
        using var w = new Variable(Tensor<float>.FromArray(device, TestData.Uniform(1, 64 * 64), 64, 64), requiresGrad: true, "w");
        using var x = new Variable(Tensor<float>.FromArray(device, TestData.Uniform(2, 32 * 64), 32, 64));
        long before = device.Pool.LiveBytes;
        using var tape = new Tape();
        var y = tape.Gelu(tape.Linear(tape.Gelu(tape.Linear(x, w)), w));
        device.Pool.LiveBytes.Should().BeGreaterThan(before + 3 * 32 * 64 * 4, "the forward keeps its activations for the backward");
        tape.Backward(y, Tensor<float>.FromArray(device, TestData.Uniform(3, 32 * 64), 32, 64));
        // The forward uses w twice unchanged, so the CPU GEMM keeps its packed panels (2 panels of 32 columns
        // x K = 64) until w is disposed; the backward needs w once (x takes no gradient), so keeps none.
        // Pool buffers are of a size class and hold room to align (TensorPool.RentView), so count them as the pool does.
        long panels = 4 * TensorPool.SizeClass(2 * 32 * 64 + 15), gradient = 4 * TensorPool.SizeClass(64 * 64 + 15);
        device.Pool.LiveBytes.Should().Be(before + gradient + panels, "only the weight's gradient (and w's kept panels) remain");
    }

    [Fact]
    public void Backward_of_a_non_scalar_needs_an_explicit_gradient()
    {
        using var w = new Variable(Tensor<float>.FromArray(Cpu, TestData.Uniform(1, 12), 3, 4), requiresGrad: true, "w");
        using var x = new Variable(Tensor<float>.FromArray(Cpu, TestData.Uniform(2, 8), 2, 4));
        using var tape = new Tape();
        var y = tape.Linear(x, w);
        var act = () => tape.Backward(y);
        act.Should().Throw<InvalidOperationException>().WithMessage("*one-element*");
    }
}
