// `ilgpuvit bench latency` end to end: a bad sweep is one error line and exit 1, and a single
// measurement writes its JSON with the profile.

using System.CommandLine;
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Cli;

namespace IlgpuVit.Tests.Cli;

[Collection(nameof(SwapsConsole))]
public class BenchCommandTests
{
    private static (int Code, string Error) Invoke(params string[] args)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            return (new RootCommand { BenchCommand.Create() }.Parse(args).Invoke(), error.ToString());
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    [Theory]
    [InlineData("--methods", "topk,nope", "unknown method 'nope'")]
    [InlineData("--rates", "0.1,1.5", "'1.5' is not a pruning rate")]
    [InlineData("--rates", "", "the list is empty")]
    public void A_bad_sweep_exits_1_with_one_error_line(string option, string value, string problem)
    {
        var (code, error) = Invoke("bench", "latency", "--sweep", "--model", "vit_micro_patch4_28", "--device", "cpu", option, value);
        code.Should().Be(1);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle().Which.Should().StartWith("error: ").And.Contain(problem);
    }

    [Fact]
    public void A_single_measurement_writes_its_json_with_the_profile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ilgpuvit-latency-{Guid.NewGuid():N}.json");
        try
        {
            var (code, error) = Invoke("bench", "latency", "--model", "vit_micro_patch4_28", "--batch", "1", "--runs", "10",
                "--method", "topk:rate=0.2", "--profile", "--device", "cpu", "--json", path);
            code.Should().Be(0, error);
            using var json = JsonDocument.Parse(File.ReadAllText(path));
            var root = json.RootElement;
            root.GetProperty("tokensAfterLayer").EnumerateArray().Select(t => t.GetInt32()).Should().Equal(40, 32, 25, 20, 16, 13);
            root.GetProperty("medianMs").GetDouble().Should().BePositive();
            root.GetProperty("profile").GetProperty("reductionMs").GetDouble().Should().BePositive();
        }
        finally
        {
            File.Delete(path);
        }
    }
}
