// The latency sweep (`ilgpuvit bench latency --sweep`, Experiments.LatencySweep) on the micro model (batch 2, 10 runs, 2 methods x 2 rates, profiled):
// every file is written, the PNG is a real image, the table has the baseline plus one row per
// (method, rate), the rows' FLOPs and latency changes follow from the baseline of the same run, and
// bad grids fail with one clear line before anything is measured. The sweep runs once per class.

using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Experiments;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Experiments;

/// <summary>One profiled sweep on the micro model, written to a temporary folder.</summary>
public sealed class MicroSweep : IDisposable
{
    public MicroSweep()
    {
        Config = ModelRegistry.Get("vit_micro_patch4_28");
        var plan = LatencySweep.Plan(Config, "topk,topk-vpa", "0.3,0.1");
        using var bench = new LatencyBenchmark(Config, Backends.Cpu, batch: 2, runs: 10);
        Report = new SweepReport(Config.Name, 2, "cpu", 10, Profile: true, LatencySweep.Run(bench, plan, profile: true));
        Report.Write(Folder);
    }

    public VitConfig Config { get; }

    public SweepReport Report { get; }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"ilgpuvit-sweep-{Guid.NewGuid():N}");

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public class LatencySweepTests(MicroSweep sweep) : IClassFixture<MicroSweep>
{
    private static readonly string[] Specs = ["none", "topk:rate=0.1", "topk:rate=0.3", "topk-vpa:rate=0.1", "topk-vpa:rate=0.3"];

    [Fact]
    public void Every_file_is_written_and_the_plot_is_a_png()
    {
        foreach (var name in SweepReport.FileNames) File.Exists(Path.Combine(sweep.Folder, name)).Should().BeTrue(name);
        var png = File.ReadAllBytes(Path.Combine(sweep.Folder, "sweep.png"));
        png.Take(8).Should().Equal(0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A);
        png.Length.Should().BeGreaterThan(20_000, "two panels with axes, labels and lines");
    }

    [Fact]
    public void Table_csv_and_json_have_the_baseline_and_one_row_per_method_and_rate()
    {
        var table = File.ReadAllLines(Path.Combine(sweep.Folder, "sweep.md")).Where(l => l.StartsWith('|')).ToArray();
        table.Should().HaveCount(2 + Specs.Length);                      // header, separator, rows
        table[0].Should().Contain("reduction %");                        // profiled: the cost columns are there
        table.Skip(2).Select(l => l.Split('|', StringSplitOptions.TrimEntries)[2]).Should().Equal(Specs);

        var csv = File.ReadAllLines(Path.Combine(sweep.Folder, "sweep.csv"));
        csv.Should().HaveCount(1 + Specs.Length);
        csv.Skip(1).Select(l => l.Split(',')[1]).Should().Equal(Specs);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(sweep.Folder, "sweep.json")));
        json.RootElement.GetProperty("model").GetString().Should().Be("vit_micro_patch4_28");
        json.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("spec").GetString()).Should().Equal(Specs);
    }

    [Fact]
    public void Rows_count_tokens_and_changes_against_the_baseline_of_the_run()
    {
        var rows = sweep.Report.Rows;
        var baseline = rows[0];
        baseline.Method.Should().Be("none");
        baseline.TokensAfterLastBlock.Should().Be(50);
        baseline.FlopsChangePercent.Should().Be(0);
        baseline.LatencyChangePercent.Should().Be(0);
        baseline.LatencyPerFlopsChange.Should().BeNull();
        baseline.GmacsPerImage.Should().BeApproximately(Flops.Macs(sweep.Config) / 1e9, 1e-9);
        foreach (var row in rows.Skip(1))
        {
            var rate = ReductionRate.Parse($"rate={row.Rate}");
            row.TokensAfterLayer.Should().Equal(rate.TokensAfterEachLayer(sweep.Config.Depth, sweep.Config.Tokens), row.Spec);
            row.TokensAfterLastBlock.Should().Be(row.TokensAfterLayer[^1]);
            row.P10Ms.Should().BeLessThanOrEqualTo(row.MedianMs);
            row.MedianMs.Should().BeLessThanOrEqualTo(row.P90Ms);
            row.LatencyChangePercent.Should().BeApproximately(100 * (row.MedianMs / baseline.MedianMs - 1), 1e-9);
            row.FlopsChangePercent.Should().BeApproximately(100 * (row.GmacsPerImage / baseline.GmacsPerImage - 1), 1e-9);
            row.LatencyPerFlopsChange!.Value.Should().BeApproximately(row.LatencyChangePercent / row.FlopsChangePercent, 1e-9);
        }
        // Top-K adds no products of its own, so its GMACs are the blocks' alone; VPA's host search only adds.
        var topk = rows.Single(r => r.Spec == "topk:rate=0.3");
        topk.GmacsPerImage.Should().BeApproximately(Flops.Macs(sweep.Config, ReductionRate.Parse("rate=0.3")) / 1e9, 1e-9);
        rows.Single(r => r.Spec == "topk-vpa:rate=0.3").GmacsPerImage.Should().BeGreaterThanOrEqualTo(topk.GmacsPerImage);
        topk.FlopsChangePercent.Should().BeLessThan(rows.Single(r => r.Spec == "topk:rate=0.1").FlopsChangePercent);
    }

    [Fact]
    public void Profile_times_the_reduction_step_only_where_there_is_one()
    {
        var rows = sweep.Report.Rows;
        rows[0].ReductionMs.Should().Be(0);
        rows[0].ReductionSharePercent.Should().Be(0);
        foreach (var row in rows.Skip(1))
        {
            row.ReductionMs.Should().BePositive(row.Spec);
            row.ReductionSharePercent.Should().BeInRange(0.001, 100, row.Spec);
        }
    }

    [Fact]
    public void Plan_sorts_rates_drops_zero_and_repeats_and_defaults_to_every_method()
    {
        var config = ModelRegistry.Get("vit_micro_patch4_28");
        LatencySweep.Plan(config, " topk , topk-vpa", "0.3,0,0.1,0.10").Select(p => p.Spec).Should().Equal(Specs);
        LatencySweep.Plan(config, null, "0.25").Select(p => p.Method)
            .Should().Equal(ReductionMethod.Names.Where(n => n != "none").Prepend("none"));
    }

    [Theory]
    [InlineData("nope", "0.1", "--methods: unknown method 'nope'*")]
    [InlineData("topk,none", "0.1", "--methods: 'none' is the baseline*")]
    [InlineData("", "0.1", "--methods: the list is empty*")]
    [InlineData("topk", " , ", "--rates: the list is empty*")]
    [InlineData("topk", "0.1,1", "--rates: '1' is not a pruning rate in [0, 1)*")]
    [InlineData("topk", "-0.02", "--rates: '-0.02' is not*")]
    [InlineData("topk", "0.1,abc", "--rates: 'abc' is not*")]
    [InlineData("topk", "NaN", "--rates: 'NaN' is not*")]
    [InlineData("topk", "0", "--rates: no rate above 0*")]
    public void Bad_grids_fail_with_one_line_naming_the_problem(string methods, string rates, string message)
    {
        var act = () => LatencySweep.Plan(ModelRegistry.Get("vit_micro_patch4_28"), methods, rates);
        act.Should().Throw<ArgumentException>().WithMessage(message).Which.Message.Should().NotContain("\n");
    }
}
