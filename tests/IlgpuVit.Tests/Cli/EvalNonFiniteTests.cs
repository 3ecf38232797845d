// `ilgpuvit eval` on weights holding NaN: refused with one line naming the tensor and exit code 1; with
// --allow-nonfinite a warning line naming it goes to stderr, the evaluation runs, --json writes the NaN
// loss as null beside "nonFinite": true, and the text says the outputs are not finite. Both modes:
// --checkpoint on a data set, --weights on an image folder. These swap Console.Out and Console.Error.
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Cli;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Cli;

[Collection(nameof(SwapsConsole))]
public sealed class EvalNonFiniteTests : IDisposable
{
    // A NaN in the head's bias makes every image's logit of class 0, and so every loss, NaN.
    private const string Tensor = "head.bias";
    private const string Named = "tensor 'head.bias' holds 1 non-finite value (first: NaN at index 0)";

    private readonly TempFolder _folder = new();
    private readonly string _nan;

    public EvalNonFiniteTests() =>
        _nan = CorruptWeights.Copy(PretrainedFixtures.Weights(_folder.File("clean.safetensors")), _folder.File("nan.safetensors"), Tensor, (0, float.NaN));

    public void Dispose() => _folder.Dispose();

    private (int Code, string Output, string Error) Checkpoint(params string[] extra) =>
        PretrainedFixtures.Invoke(EvalCommand.Create(),
            ["eval", "--checkpoint", _nan, "--data", "cifar10", "--data-dir", PretrainedFixtures.Cifar10Folder(_folder.File("cifar")), "--device", "cpu", .. extra]);

    private (int Code, string Output, string Error) Weights(params string[] extra) =>
        PretrainedFixtures.Invoke(EvalCommand.Create(),
            ["eval", "--weights", _nan, "--arch", PretrainedFixtures.Arch, "--data", PretrainedFixtures.ImageFolder(_folder.File("val")), "--device", "cpu",
                "--latency-runs", "1", .. extra]);

    private static void ExpectRefused((int Code, string Output, string Error) run, string path)
    {
        run.Code.Should().Be(1);
        run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle().Which.Should()
            .Be($"error: {path}: {Named}; the weights are corrupt. Pass --allow-nonfinite (AllowNonFinite in code) to load them anyway.");
    }

    private static void ExpectWarned(string error, string path) =>
        error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle().Which.Should()
            .Be($"warning: {path}: loaded non-finite weights as --allow-nonfinite asks: {Named}.");

    [Fact]
    public void A_NaN_checkpoint_is_refused_in_one_line()
    {
        ExpectRefused(Checkpoint(), _nan);
        ExpectRefused(Checkpoint("--json"), _nan);
    }

    [Fact]
    public void Allowed_a_NaN_checkpoint_is_evaluated_with_a_warning_and_json_writes_null_and_the_flag()
    {
        var (code, output, error) = Checkpoint("--allow-nonfinite", "--json");
        code.Should().Be(0, error);
        ExpectWarned(error, _nan);
        var root = JsonDocument.Parse(output).RootElement;
        root.GetProperty("loss").ValueKind.Should().Be(JsonValueKind.Null);
        root.GetProperty("nonFinite").GetBoolean().Should().BeTrue();
        root.GetProperty("images").GetInt32().Should().Be(8);

        (code, output, error) = Checkpoint("--allow-nonfinite");
        code.Should().Be(0, error);
        output.Should().Contain("loss NaN: the model's outputs are not finite");
    }

    [Fact]
    public void A_finite_checkpoint_reports_nonFinite_false()
    {
        var (code, output, error) = PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--checkpoint", _folder.File("clean.safetensors"),
            "--data", "cifar10", "--data-dir", PretrainedFixtures.Cifar10Folder(_folder.File("cifar")), "--device", "cpu", "--json");
        code.Should().Be(0, error);
        error.Should().BeEmpty();
        var root = JsonDocument.Parse(output).RootElement;
        root.GetProperty("nonFinite").GetBoolean().Should().BeFalse();
        root.GetProperty("loss").GetDouble().Should().BePositive();
    }

    [Fact]
    public void NaN_weights_are_refused_and_allowed_evaluated_with_each_row_flagged()
    {
        ExpectRefused(Weights("--json"), _nan);

        var (code, output, error) = Weights("--allow-nonfinite", "--json");
        code.Should().Be(0, error);
        ExpectWarned(error, _nan);
        var row = JsonDocument.Parse(output).RootElement.GetProperty("rows").EnumerateArray().Should().ContainSingle().Subject;
        row.GetProperty("loss").ValueKind.Should().Be(JsonValueKind.Null);
        row.GetProperty("nonFinite").GetBoolean().Should().BeTrue();

        (code, output, error) = Weights("--allow-nonfinite");
        code.Should().Be(0, error);
        output.Should().Contain("none: loss NaN: the model's outputs are not finite").And.Contain("Loaded although not finite: " + Named);
    }
}
