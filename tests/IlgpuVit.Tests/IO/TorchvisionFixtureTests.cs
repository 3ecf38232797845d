// The parity fixture written by scripts/make_parity_fixtures.py (Python's struct + json, no shared
// code with SafeTensors.Write) read back by SafeTensorsFile: an independent writer checking the
// reader, and a check that the fixture itself is consistent (its loss and head-bias gradient follow
// from its logits and labels) before model tests rely on it.
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public sealed class TorchvisionFixtureTests : IDisposable
{
    private const int Batch = 3, Classes = 5, Hidden = 16, Mlp = 64, Tokens = 10;
    private const double LabelSmoothing = 0.1;

    private readonly SafeTensorsFile _file = SafeTensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "torchvision_vit.safetensors"));

    public void Dispose() => _file.Dispose();

    /// <summary>torchvision 0.14's state_dict of VisionTransformer(12, 4, 2 layers, 2 heads, 16, 64, 5 classes).</summary>
    private static IEnumerable<(string Name, int[] Shape)> Parameters()
    {
        yield return ("class_token", [1, 1, Hidden]);
        yield return ("conv_proj.weight", [Hidden, 3, 4, 4]);
        yield return ("conv_proj.bias", [Hidden]);
        yield return ("encoder.pos_embedding", [1, Tokens, Hidden]);
        for (int i = 0; i < 2; i++)
        {
            string layer = $"encoder.layers.encoder_layer_{i}.";
            yield return (layer + "ln_1.weight", [Hidden]);
            yield return (layer + "ln_1.bias", [Hidden]);
            yield return (layer + "self_attention.in_proj_weight", [3 * Hidden, Hidden]);
            yield return (layer + "self_attention.in_proj_bias", [3 * Hidden]);
            yield return (layer + "self_attention.out_proj.weight", [Hidden, Hidden]);
            yield return (layer + "self_attention.out_proj.bias", [Hidden]);
            yield return (layer + "ln_2.weight", [Hidden]);
            yield return (layer + "ln_2.bias", [Hidden]);
            yield return (layer + "mlp.0.weight", [Mlp, Hidden]);
            yield return (layer + "mlp.0.bias", [Mlp]);
            yield return (layer + "mlp.3.weight", [Hidden, Mlp]);
            yield return (layer + "mlp.3.bias", [Hidden]);
        }
        yield return ("encoder.ln.weight", [Hidden]);
        yield return ("encoder.ln.bias", [Hidden]);
        yield return ("heads.head.weight", [Classes, Hidden]);
        yield return ("heads.head.bias", [Classes]);
    }

    [Fact]
    public void Holds_every_parameter_its_gradient_and_the_batch()
    {
        var expected = new Dictionary<string, (SafeTensorDType, int[])>
        {
            ["check"] = (SafeTensorDType.F32, [3]),
            ["input"] = (SafeTensorDType.F32, [Batch, 3, 12, 12]),
            ["labels"] = (SafeTensorDType.I64, [Batch]),
            ["logits"] = (SafeTensorDType.F32, [Batch, Classes]),
            ["loss"] = (SafeTensorDType.F32, []),
        };
        foreach (var (name, shape) in Parameters())
        {
            expected[name] = (SafeTensorDType.F32, shape);
            expected["grad." + name] = (SafeTensorDType.F32, shape);
        }
        _file.Tensors.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (name, (dtype, shape)) in expected)
        {
            _file.Tensors[name].DType.Should().Be(dtype, name);
            _file.Tensors[name].Shape.Should().Equal(shape, name);
        }
    }

    [Fact]
    public void Reads_the_values_python_wrote()
    {
        _file.ReadSingles("check").Should().Equal(1.5f, -2.25f, 3f);
        _file.ReadIntegers("labels").Should().Equal(1, 4, 0);
        Check.Close(_file.ReadSingles("loss"), [1.7321049504], rtol: 1e-7, atol: 0, what: "loss");
        Check.Close(_file.ReadSingles("logits").AsSpan(0, 2), [0.6803384, 0.41141385], rtol: 1e-6, atol: 0, what: "logits[0, :2]");
        _file.Metadata["image_size"].Should().Be("12");
        _file.Metadata["patch_size"].Should().Be("4");
        _file.Metadata["num_layers"].Should().Be("2");
        _file.Metadata["num_heads"].Should().Be("2");
        _file.Metadata["hidden_dim"].Should().Be("16");
        _file.Metadata["mlp_dim"].Should().Be("64");
        _file.Metadata["num_classes"].Should().Be("5");
        _file.Metadata["label_smoothing"].Should().Be("0.1");
        _file.Metadata["torch"].Should().StartWith("1.13");
    }

    [Fact]
    public void Parameters_are_randomised_so_biases_matter()
    {
        foreach (var (name, _) in Parameters())
        {
            var values = _file.ReadSingles(name);
            bool layerNormWeight = name.Contains("ln") && name.EndsWith(".weight");
            double mean = values.Average(v => (double)v);
            if (layerNormWeight) mean.Should().BeInRange(0.85, 1.15, name);
            values.Should().Contain(v => Math.Abs(v - (layerNormWeight ? 1 : 0)) > 1e-3, $"{name} is not left at its initial value");
            _file.ReadSingles("grad." + name).Should().Contain(g => g != 0f, $"grad.{name} is not all zero");
        }
    }

    [Fact]
    public void Loss_and_head_bias_gradient_follow_from_the_logits()
    {
        // Cross-entropy with label smoothing eps over K classes: target = (1 - eps) onehot + eps / K,
        // loss = mean_b -sum_k target_k log p_k, and d loss / d bias_k = mean_b (p_k - target_k).
        var logits = _file.ReadSingles("logits");
        var labels = _file.ReadIntegers("labels");
        double loss = 0;
        var biasGrad = new double[Classes];
        for (int b = 0; b < Batch; b++)
        {
            var row = logits.AsSpan(b * Classes, Classes);
            double max = row.ToArray().Max();
            double logSum = Math.Log(row.ToArray().Sum(z => Math.Exp(z - max))) + max;
            for (int k = 0; k < Classes; k++)
            {
                double target = (k == labels[b] ? 1 - LabelSmoothing : 0) + LabelSmoothing / Classes;
                loss -= target * (row[k] - logSum) / Batch;
                biasGrad[k] += (Math.Exp(row[k] - logSum) - target) / Batch;
            }
        }
        Check.Close(_file.ReadSingles("loss"), [loss], rtol: 1e-6, atol: 0, what: "loss");
        Check.Close(_file.ReadSingles("grad.heads.head.bias"), biasGrad, rtol: 1e-5, atol: 1e-7, what: "grad.heads.head.bias");
    }
}
