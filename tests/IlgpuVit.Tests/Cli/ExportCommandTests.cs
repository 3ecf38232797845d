// `ilgpuvit export onnx` end to end: a checkpoint and pretrained weights export to a file ONNX Runtime
// runs with IlgpuVit's logits; an existing file is kept unless --force; ToMe is refused by name and
// writes nothing; missing or conflicting options exit 1 with one line. These swap Console.Out and
// Console.Error, so they run beside nothing else.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Cli;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Onnx;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace IlgpuVit.Tests.Cli;

[Collection(nameof(SwapsConsole))]
public class ExportCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _weights;

    public ExportCommandTests() => _weights = PretrainedFixtures.Weights(_folder.File("micro.safetensors"));

    public void Dispose() => _folder.Dispose();

    private static (int Code, string Output, string Error) Export(params string[] args) =>
        PretrainedFixtures.Invoke(ExportCommand.Create(), ["export", "onnx", .. args]);

    [Theory]
    [InlineData("--checkpoint", "none")]
    [InlineData("--checkpoint", "topk-vpa:rate=0.1")]
    [InlineData("--weights", "evit:rate=0.1")]
    public void The_exported_file_gives_ilgpuvits_logits_in_onnx_runtime(string source, string method)
    {
        string output = _folder.File("model.onnx");
        string[] from = source == "--weights" ? ["--weights", _weights, "--arch", PretrainedFixtures.Arch] : ["--checkpoint", _weights];
        var (code, text, error) = Export([.. from, "--method", method, "--out", output]);
        (code, error).Should().Be((0, ""));
        text.Should().Contain("Wrote").And.Contain(method);

        var config = ModelRegistry.Get(PretrainedFixtures.Arch);
        var pixels = TestData.Uniform(5, 2L * 3 * 32 * 32);
        using var device = Device.Open("cpu");
        using var model = new VisionTransformer(config, device);
        WeightImporter.Import(_weights, model);
        ReductionMethod.Apply(model, method);
        using var images = IlgpuVit.Runtime.Tensor<float>.FromArray(device, pixels, 2, 3, 32, 32);
        float[] expected;
        using (var tape = Tape.NoGrad()) expected = model.Forward(tape, images).Value.ToArray();

        using var session = new InferenceSession(output);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new DenseTensor<float>(pixels, [2, 3, 32, 32]))]);
        var actual = results.Single().AsTensor<float>().ToArray();
        float scale = expected.Max(MathF.Abs);
        expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max().Should().BeLessThan(1e-4f * scale);
    }

    [Fact]
    public void An_existing_file_is_kept_unless_force_is_given()
    {
        string output = _folder.File("saved.onnx");
        File.WriteAllText(output, "the user's file");
        var (code, _, error) = Export("--checkpoint", _weights, "--out", output);
        code.Should().Be(1);
        error.Should().Contain("--force");
        File.ReadAllText(output).Should().Be("the user's file");

        Export("--checkpoint", _weights, "--out", output, "--force").Code.Should().Be(0);
        using var session = new InferenceSession(output);
        session.OutputMetadata.Keys.Should().Equal(OnnxExporter.OutputName);
        Directory.GetFiles(_folder.Path, ".*tmp*").Should().BeEmpty("the temporary file is renamed over the target");
    }

    [Theory]
    [InlineData("ToMe", "--checkpoint", "{0}", "--method", "tome:r=2")]
    [InlineData("--arch", "--weights", "{0}")]
    [InlineData("exactly one", "--weights", "{0}", "--checkpoint", "{0}", "--arch", "vit_micro_patch4_32")]
    [InlineData("Unknown reduction method", "--checkpoint", "{0}", "--method", "nope:rate=0.1")]
    public void Bad_requests_exit_1_with_one_line_and_write_nothing(string expected, params string[] args)
    {
        string output = _folder.File("refused.onnx");
        var (code, _, error) = Export([.. args.Select(a => string.Format(a, _weights)), "--out", output]);
        code.Should().Be(1);
        error.Should().StartWith("error: ").And.Contain(expected);
        error.Trim().Split('\n').Should().HaveCount(1);
        File.Exists(output).Should().BeFalse();
    }
}
