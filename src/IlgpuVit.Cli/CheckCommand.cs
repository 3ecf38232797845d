// `ilgpuvit check`: compares every kernel and whole training steps on a device against the CPU
// accelerator, then times the device (Experiments.Devices.DeviceCheck), and writes one JSON. The exit
// code is 0 when every comparison passed and every launcher was reached, 2 otherwise, so a script
// can tell a failed check (2) from a bad command line (1). scripts/gpu-check.sh runs it from the
// self-contained bundle on machines without .NET (docs/device-check.md).

using System.CommandLine;
using System.Text.Json;
using IlgpuVit.Experiments.Devices;
using IlgpuVit.Metrics;
using IlgpuVit.IO;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class CheckCommand
{
    public static Command Create()
    {
        var device = CommonOptions.Device();
        var quick = new Option<bool>("--quick") { Description = "Small shapes and the micro model only (minutes on a CPU; what CI runs)." };
        var noTimings = new Option<bool>("--no-timings") { Description = "Compare only; skip the timings." };
        var json = new Option<string?>("--json") { Description = "Write the whole report as JSON to this file." };
        var peer = new Option<string?>("--peer") { Description = "The JSON of benchmarks/peers/torch_gpu.py run on the same device: adds its figures and our time ratios." };
        var command = new Command("check", "Compare every kernel and a training step under each reduction method on a device against the CPU, then time the device.")
        {
            device, quick, noTimings, json, peer,
        };
        command.SetAction(r => CommonOptions.Guard(() =>
        {
            var peerReport = r.GetValue(peer) is { } peerPath ? PeerReport.Read(peerPath) : null;      // a bad file fails before minutes of checking
            var report = DeviceCheck.Run(new DeviceCheckSettings(r.GetValue(device)!, r.GetValue(quick), !r.GetValue(noTimings)),
                line => Console.WriteLine(line)) with { Peer = peerReport };
            if (r.GetValue(json) is { } path) AtomicFile.WriteText(path, JsonSerializer.Serialize(report, ReportJson.Options));
            var console = ConsoleTables.Current();
            ConsoleTables.Write(console, report.ComparisonTable());
            if (report.PeerRatios.Count > 0) ConsoleTables.Write(console, report.PeerTable());
            Console.WriteLine($"check {(report.Passed ? "passed" : "FAILED")} on {report.Device.Spec} in {report.Seconds:F0} s");
            return report.Passed ? 0 : 2;
        }));
        return command;
    }
}
