// The numeric options of `eval` and `bench latency` are checked before any file is read or model built:
// below its minimum, each exits 1 with one line naming the option as typed (the eval runs name a
// checkpoint that does not exist, so only the check can produce the error). An absent --test-limit
// means every image; a given one takes that many.
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Cli;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Cli;

[Collection(nameof(SwapsConsole))]
public sealed class NumericOptionsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static void ExpectOneLine((int Code, string Output, string Error) run, string message)
    {
        run.Code.Should().Be(1);
        run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle().Which.Should().Be("error: " + message);
    }

    [Theory]
    [InlineData("--test-limit", "0", "--test-limit must be at least 1, got 0.")]
    [InlineData("--limit", "-1", "--limit must be at least 1, got -1.")]
    [InlineData("--batch-size", "0", "--batch-size must be at least 1, got 0.")]
    [InlineData("--batch", "-3", "--batch must be at least 1, got -3.")]
    [InlineData("--latency-runs", "0", "--latency-runs must be at least 1, got 0.")]
    public void Eval_refuses_a_number_below_its_minimum(string option, string value, string message)
    {
        ExpectOneLine(PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--checkpoint", _folder.File("absent.safetensors"), "--device", "cpu",
            option, value), message);
        ExpectOneLine(PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--weights", _folder.File("absent.safetensors"), "--arch",
            PretrainedFixtures.Arch, "--data", _folder.Path, "--device", "cpu", option, value), message);
    }

    [Theory]
    [InlineData("--batch", "0", "--batch must be at least 1, got 0.")]
    [InlineData("--runs", "9", "--runs must be at least 10, got 9.")]
    [InlineData("--runs", "-1", "--runs must be at least 10, got -1.")]
    public void Bench_refuses_a_number_below_its_minimum(string option, string value, string message)
    {
        ExpectOneLine(PretrainedFixtures.Invoke(BenchCommand.Create(), "bench", "latency", "--device", "cpu", option, value), message);
        ExpectOneLine(PretrainedFixtures.Invoke(BenchCommand.Create(), "bench", "latency", "--sweep", "--out", _folder.File("sweep"), "--device", "cpu",
            option, value), message);
    }

    [Theory]
    [InlineData(null, 8)]
    [InlineData("3", 3)]
    public void A_test_limit_takes_that_many_images_and_none_takes_all(string? limit, int images)
    {
        string weights = PretrainedFixtures.Weights(_folder.File("w.safetensors"));
        string[] args = ["eval", "--checkpoint", weights, "--data", "cifar10", "--data-dir", PretrainedFixtures.Cifar10Folder(_folder.File("cifar")),
            "--device", "cpu", "--json", .. limit is null ? Array.Empty<string>() : ["--test-limit", limit]];
        var (code, output, error) = PretrainedFixtures.Invoke(EvalCommand.Create(), args);
        code.Should().Be(0, error);
        JsonDocument.Parse(output).RootElement.GetProperty("images").GetInt32().Should().Be(images);
    }
}
