// A whole transformer block (LayerNorm, fused-qkv attention with key bias, projection + residual,
// MLP + residual) through the tape, against finite differences of a float64 reference block:
// forward, the input's gradient and every parameter's gradient.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;
using IlgpuVit.Nn;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Autodiff;

public class BlockGradientTests
{
    [Theory]
    [InlineData(2, 5, 8, 2, 16, false)]
    [InlineData(1, 7, 12, 3, 20, true)]
    public void Block_matches_finite_differences(int batch, int tokens, int channels, int heads, int hidden, bool withBias)
    {
        var device = Backends.Cpu;
        using var block = new Block(device, 0, channels, heads, hidden, 1e-6f, new Random(3));
        var parameters = block.Parameters().ToArray();
        // Perturb every parameter so biases and norms matter.
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var values = TestData.Uniform(10 + i, p.Shape.Length, 0.5f);
            if (p.Name!.Contains("norm")) values = values.Select(v => p.Name.EndsWith("weight") ? 1 + v : v).ToArray();
            p.Value.CopyFrom(values);
        }
        var bias = TestData.Uniform(7, batch * tokens, 1f);
        using var biasTensor = Tensor<float>.FromArray(device, bias, batch, tokens);
        var state = new TokenState { KeyBias = withBias ? biasTensor : null };
        var inputs = new[] { GradCheck.In(1, 1f, batch, tokens, channels) }
            .Concat(parameters.Select(p => new GradCheck.Input(p.Value.ToArray(), p.Shape.Dims.ToArray()))).ToArray();
        // The block owns its parameters; GradCheck makes its own variables, so rebuild the block's maths from them.
        GradCheck.Run(device, inputs,
            (tape, v) => BlockOn(tape, v, heads),
            x => Reference.Block(x[0], x[1..], batch, tokens, channels, heads, hidden, withBias ? bias.ToDouble() : null),
            rtol: 3e-3, atol: 3e-4);

        Variable BlockOn(Tape tape, Variable[] v, int h)
        {
            var x = v[0];
            var qkv = tape.Linear(tape.LayerNorm(x, v[1], v[2]), v[3], v[4]);
            var x1 = tape.Linear(tape.Attention(qkv, h, state.KeyBias, out _, out _), v[5], v[6], x);
            var hid = tape.Gelu(tape.Linear(tape.LayerNorm(x1, v[7], v[8]), v[9], v[10]));
            return tape.Linear(hid, v[11], v[12], x1);
        }
    }

    [Fact]
    public void Block_module_equals_the_composed_ops()
    {
        var device = Backends.Cpu;
        using var block = new Block(device, 0, 8, 2, 16, 1e-6f, new Random(3));
        var p = block.Parameters().Select(v => v.Value.ToArray().ToDouble()).ToArray();
        var x = TestData.Uniform(1, 2 * 5 * 8);
        using var input = new Variable(Tensor<float>.FromArray(device, x, 2, 5, 8));
        using var tape = Tape.NoGrad();
        var y = block.Forward(tape, input, new TokenState());
        Check.Close(y.Value.ToArray(), Reference.Block(x.ToDouble(), p, 2, 5, 8, 2, 16), 1e-4, 1e-5, "block output");
    }
}
