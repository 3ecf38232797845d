// Whole training runs with a pruning-rate adjuster on real data (1,024 Fashion-MNIST images): the
// run logs every GAS window and re-applies the method at each window's rate; the checkpoint carries
// the method at its final rate and the adjuster's state; a run interrupted after its first epoch and
// resumed ends exactly where the uninterrupted run ends (same windows, same rates, same accuracy).
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public class TrainingRunTests
{
    private static readonly TrainingOptions Options = new()
    {
        Epochs = 2, BatchSize = 64, WarmupEpochs = 0.25f, Method = "etps", Adjust = "gas",
        Gas = new GasOptions { WindowEpochs = 0.25, Eta = 0.02 },
    };

    private static RunSettings Settings(string folder) =>
        new("vit_micro_patch4_28", "fashion-mnist", null, Options, folder, TrainLimit: 1024, TestLimit: 256, Device: "cpu");

    private static void RequireData() =>
        Skip.IfNot(File.Exists(Path.Combine(FashionMnist.DefaultFolder, "t10k-labels-idx1-ubyte.gz")) || File.Exists(Path.Combine(FashionMnist.DefaultFolder, "t10k-labels-idx1-ubyte")),
            $"Fashion-MNIST is not installed in {FashionMnist.DefaultFolder} (apt-get install dataset-fashion-mnist)");

    private static List<JsonElement> Windows(string metrics) => File.ReadLines(metrics).Select(l => JsonDocument.Parse(l).RootElement)
        .Where(e => e.GetProperty("event").GetString() == "window").ToList();

    /// <summary>Stops a run after its first epoch's checkpoint, as a crash would.</summary>
    private sealed class CrashAfterFirstEpoch : ITrainingObserver
    {
        public void Run(Trainer trainer, Action<Action<StepResult, double, double>> body) => body((_, _, _) => { });

        public void Epoch(Trainer trainer, int epoch, EvaluationResult result)
        {
            if (epoch == 1) throw new OperationCanceledException("simulated crash");
        }
    }

    [SkippableFact]
    public void Gas_run_logs_its_windows_and_stores_the_final_rate_with_the_model()
    {
        RequireData();
        using var folder = new TempFolder();
        var summary = TrainingRun.Execute(Settings(folder.Path));
        var windows = Windows(summary.Metrics);
        windows.Should().HaveCount(8, "16 steps per epoch, windows of 4 steps, 2 epochs");
        windows[0].GetProperty("rate").GetDouble().Should().Be(0, "the warm-up window holds pStart");
        windows.Select(w => w.GetProperty("rate").GetDouble()).Distinct().Should().HaveCountGreaterThan(1, "GAS moves the rate");
        summary.FinalRate.Should().Be(windows[^1].GetProperty("rate").GetDouble());
        summary.Method.Should().Be(IlgpuVit.Reduction.ReductionMethod.WithRate("etps", summary.FinalRate));
        var info = TrainingCheckpoint.ReadInfo(summary.Checkpoint);
        info.Method.Should().Be(summary.Method, "eval uses the method at its final rate");
        info.AdjusterState.Should().NotBeNullOrEmpty();
        summary.Steps.Should().Be(32);
        File.Exists(Path.Combine(folder.Path, "summary.json")).Should().BeTrue();
    }

    [SkippableFact]
    public void A_resumed_gas_run_repeats_the_uninterrupted_one()
    {
        RequireData();
        using var whole = new TempFolder();
        using var parts = new TempFolder();
        var expected = TrainingRun.Execute(Settings(whole.Path));
        var crash = () => TrainingRun.Execute(Settings(parts.Path), new CrashAfterFirstEpoch());
        crash.Should().Throw<OperationCanceledException>();
        var resumed = TrainingRun.Execute(Settings(parts.Path) with { Resume = Path.Combine(parts.Path, "checkpoint.safetensors") });
        resumed.FinalRate.Should().Be(expected.FinalRate);
        resumed.TestAccuracy.Should().Be(expected.TestAccuracy);
        resumed.TestLoss.Should().Be(expected.TestLoss);
        Windows(resumed.Metrics).Select(w => w.GetRawText()).Should().Equal(Windows(expected.Metrics).Select(w => w.GetRawText()));
    }
}
