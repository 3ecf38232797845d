using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Metrics;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Metrics;

public class MetricsLogTests
{
    [Fact]
    public void Each_record_is_one_json_line_and_a_reopened_log_appends()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.jsonl");
        using (var log = new MetricsLog(path))
        {
            log.Write(new { Event = "step", Step = 1, Loss = 2.5f });
            File.ReadAllLines(path).Should().HaveCount(1, "lines are flushed as written");
        }
        using (var log = new MetricsLog(path)) log.Write(new { Event = "eval", Accuracy = 0.9 });
        var lines = File.ReadAllLines(path);
        lines.Should().HaveCount(2);
        JsonDocument.Parse(lines[0]).RootElement.GetProperty("loss").GetSingle().Should().Be(2.5f);
        JsonDocument.Parse(lines[1]).RootElement.GetProperty("event").GetString().Should().Be("eval");
    }

    [Fact]
    public void A_resumed_log_forgets_the_steps_after_the_checkpoint_and_a_torn_line()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.jsonl");
        string[] kept =
        [
            """{"event":"start","resumedFromStep":0}""", """{"event":"step","step":1}""", """{"event":"step","step":2}""",
            """{"event":"eval","epoch":1,"step":2}""", """{"event":"start","resumedFromStep":2}""",
        ];
        File.WriteAllText(path, string.Join("\n", kept.Append("""{"event":"step","step":3}""").Append("""{"event":"step","st""")));
        MetricsLog.KeepThroughStep(path, 2).Should().Be(2);
        File.ReadAllLines(path).Should().Equal(kept);
        MetricsLog.KeepThroughStep(path, 2).Should().Be(0, "nothing is beyond step 2 now");
        File.WriteAllText(path, kept[0] + "\n" + """{"event":"st""");
        MetricsLog.KeepThroughStep(path, 5).Should().Be(1, "a torn last line goes even when no step is beyond");
        File.ReadAllLines(path).Should().Equal(kept[0]);
        MetricsLog.KeepThroughStep(folder.File("none.jsonl"), 1).Should().Be(0);
        File.Exists(folder.File("none.jsonl")).Should().BeFalse();
    }

    [Fact]
    public void A_non_finite_number_is_written_as_null_instead_of_failing()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.jsonl");
        using (var log = new MetricsLog(path)) log.Write(new { Event = "step", Loss = float.NaN, GradNorm = double.PositiveInfinity, Step = 3 });
        var line = JsonDocument.Parse(File.ReadAllLines(path).Single()).RootElement;
        line.GetProperty("loss").ValueKind.Should().Be(JsonValueKind.Null);
        line.GetProperty("gradNorm").ValueKind.Should().Be(JsonValueKind.Null);
        line.GetProperty("step").GetInt32().Should().Be(3);
    }
}
