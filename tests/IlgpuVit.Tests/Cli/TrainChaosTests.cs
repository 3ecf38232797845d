// The chaos test of docs/runs.md: a short training run (eTPS with GAS, a checkpoint every 4 steps) is
// started as a child process and stopped again and again at random steps, by SIGKILL, by SIGINT and
// SIGTERM (which finish the step and checkpoint it), by a double SIGINT (which aborts at once) and by
// a SIGKILL the moment a checkpoint write begins; each time it is resumed with nothing but --resume.
// The final checkpoint must equal an uninterrupted run's byte for byte, the metrics log must hold the
// same steps, windows and evaluations, and no temporary file may be left. Also between processes:
// a second run into a held folder is refused naming the holder, and a default run folder that holds
// a run is not reused. Linux only (signals); the random steps come from a fixed seed, printed.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Tests.Support;
using Xunit.Abstractions;

namespace IlgpuVit.Tests.Cli;

public sealed partial class TrainChaosTests(ITestOutputHelper output) : IDisposable
{
    private const int SIGINT = 2, SIGKILL = 9, SIGTERM = 15;
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "IlgpuVit.Cli.dll");
    // 10 steps an epoch, 30 in all; GAS windows of 3 steps, so checkpoints fall mid-window.
    private static readonly string[] Run = ["train", "--epochs", "3", "--train-limit", "320", "--test-limit", "64", "--batch-size", "32",
        "--checkpoint-every", "4", "--method", "etps", "--adjust", "gas", "--gas-window", "0.3", "--device", "cpu", "--json"];
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    private enum Stop { Kill, Interrupt, Terminate, DoubleInterrupt, KillDuringCheckpointWrite }

    private static void Require()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the chaos test sends POSIX signals");
        TrainingRuns.RequireFashionMnist();
    }

    private static Process Start(string[] args, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        info.ArgumentList.Add(Cli);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    private static (int Code, string Output, string Error) Finish(Process process)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) { process.Kill(); throw new TimeoutException("the training process hung"); }
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>The last step the run logged (0 before the first).</summary>
    private static int LoggedStep(string metrics)
    {
        if (!File.Exists(metrics)) return 0;
        try
        {
            using var stream = new FileStream(metrics, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var lines = new StreamReader(stream).ReadToEnd().Split('\n');
            return lines.Reverse().Select(l => l.Contains("\"event\":\"step\"") && l.EndsWith('}') ? JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32() : -1)
                .FirstOrDefault(s => s >= 0);
        }
        catch (IOException) { return 0; }
    }

    /// <summary>Whether this process ignores SIGINT (a background job of a script): its children then do too, as Unix wants.</summary>
    private static bool SigIntIgnored() =>
        File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:")) is { } line && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (SIGINT - 1))) != 0;


    [SkippableFact]
    public void Stopped_at_random_steps_and_resumed_with_only_resume_the_run_ends_exactly_as_the_uninterrupted_one()
    {
        Require();
        string whole = _temp.File("whole"), parts = _temp.File("parts");
        string checkpoint = Path.Combine(parts, "checkpoint.safetensors"), metrics = Path.Combine(parts, "metrics.jsonl");
        var (code, _, error) = Finish(Start([.. Run, "--out", whole]));
        code.Should().Be(0, error);

        int interrupt = SigIntIgnored() ? SIGTERM : SIGINT;
        if (interrupt != SIGINT) output.WriteLine("SIGINT is ignored by this test process (and so its children): SIGTERM stands in for it");
        const int seed = 20261203;
        var random = new Random(seed);
        Stop[] plan = [Stop.Kill, Stop.Interrupt, Stop.KillDuringCheckpointWrite, Stop.Terminate, Stop.DoubleInterrupt, Stop.Kill, Stop.KillDuringCheckpointWrite, Stop.Interrupt];
        bool finished = false, killedMidWrite = false;
        for (int attempt = 0; attempt < 16 && !finished; attempt++)
        {
            var stop = plan[attempt % plan.Length];
            int target = LoggedStep(metrics) + random.Next(1, 7);
            output.WriteLine($"attempt {attempt} (seed {seed}): {stop} at step {target}");
            // Stopped before its first checkpoint, a run has nothing to resume: it starts again, taking its folder back.
            using var process = Start(File.Exists(checkpoint) ? ["train", "--resume", checkpoint, "--json"] : [.. Run, "--out", parts, "--overwrite"]);
            using var watcher = new FileSystemWatcher(Directory.Exists(parts) ? parts : _temp.Path) { IncludeSubdirectories = true };
            if (stop == Stop.KillDuringCheckpointWrite)
            {
                watcher.Created += (_, e) =>
                {
                    if (Path.GetFileName(e.FullPath).StartsWith(".checkpoint.safetensors.tmp-", StringComparison.Ordinal) && !process.HasExited) Kill(process.Id, SIGKILL);
                };
                watcher.EnableRaisingEvents = true;
            }
            else
            {
                while (!process.HasExited && LoggedStep(metrics) < target) Thread.Sleep(5);
                if (!process.HasExited) Kill(process.Id, stop switch { Stop.Kill => SIGKILL, Stop.Terminate => SIGTERM, _ => interrupt });
                if (stop == Stop.DoubleInterrupt) { Thread.Sleep(1); if (!process.HasExited) Kill(process.Id, interrupt); }
            }
            (code, var stdout, error) = Finish(process);
            watcher.EnableRaisingEvents = false;
            bool leftTemp = Directory.Exists(parts) && Directory.EnumerateFiles(parts, ".checkpoint.safetensors.tmp-*").Any();
            output.WriteLine($"  exit {code} at logged step {LoggedStep(metrics)}{(leftTemp ? ", a temporary checkpoint file left behind" : "")}");
            if (code == 0) { finished = true; JsonDocument.Parse(stdout).RootElement.GetProperty("steps").GetInt32().Should().Be(30); continue; }
            if (stop is Stop.Interrupt or Stop.Terminate)
            {
                code.Should().Be(130, error);
                error.Should().Contain($"holds that step.\nResume with: ilgpuvit train --resume {checkpoint}");
                leftTemp.Should().BeFalse("an interrupt finishes its checkpoint write");
            }
            else if (stop == Stop.DoubleInterrupt) code.Should().BeOneOf([130, 128 + interrupt], error);
            else code.Should().Be(128 + SIGKILL, error);
            killedMidWrite |= stop == Stop.KillDuringCheckpointWrite && leftTemp;
        }
        finished.Should().BeTrue("the run reached its last step");
        killedMidWrite.Should().BeTrue("at least one SIGKILL landed while a checkpoint was being written");
        File.ReadAllBytes(checkpoint).Should().Equal(File.ReadAllBytes(Path.Combine(whole, "checkpoint.safetensors")),
            "weights, optimizer moments, step, rate and adjuster state match the uninterrupted run's");
        TrainingRuns.Events(metrics).Should().Equal(TrainingRuns.Events(Path.Combine(whole, "metrics.jsonl")));
        Directory.EnumerateFiles(parts, "*.tmp-*").Should().BeEmpty();
        File.Exists(Path.Combine(parts, ".ilgpuvit.owner")).Should().BeFalse("the last run released its folder");
    }

    [SkippableFact]
    public void Two_runs_into_one_folder_at_once_the_second_is_refused_naming_the_first()
    {
        Require();
        string run = _temp.File("run");
        using var first = Start([.. Run, "--out", run]);
        while (!first.HasExited && LoggedStep(Path.Combine(run, "metrics.jsonl")) < 1) Thread.Sleep(5);
        var (code, _, error) = Finish(Start([.. Run, "--out", run, "--overwrite"]));
        code.Should().Be(1);
        error.Trim().Should().StartWith($"error: {run} is in use by another run (process {first.Id} on {Environment.MachineName}, started ")
            .And.Contain("train --epochs 3").And.NotContain("\n");
        Kill(first.Id, SIGTERM);
        Finish(first).Code.Should().Be(130, "the first run went on undisturbed until stopped");
        File.ReadLines(Path.Combine(run, "metrics.jsonl")).Count(l => l.Contains("\"event\":\"start\"")).Should().Be(1, "the second run wrote nothing");
    }

    [SkippableFact]
    public void A_default_run_folder_holding_a_run_is_not_reused()
    {
        Require();
        string[] tiny = ["train", "--epochs", "1", "--train-limit", "64", "--test-limit", "32", "--batch-size", "32", "--device", "cpu", "--json"];
        Finish(Start(tiny, _temp.Path)).Code.Should().Be(0);
        var (code, stdout, error) = Finish(Start(tiny, _temp.Path));
        code.Should().Be(0, error);
        error.Should().Contain("note: runs/vit_micro_conv4_gap_28-fashion-mnist holds an earlier run: writing to runs/vit_micro_conv4_gap_28-fashion-mnist-2.");
        JsonDocument.Parse(stdout).RootElement.GetProperty("checkpoint").GetString().Should().EndWith("runs/vit_micro_conv4_gap_28-fashion-mnist-2/checkpoint.safetensors");
        File.Exists(Path.Combine(_temp.Path, "runs", "vit_micro_conv4_gap_28-fashion-mnist", "checkpoint.safetensors")).Should().BeTrue();
    }
}
