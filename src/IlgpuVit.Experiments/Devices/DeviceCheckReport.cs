// What `ilgpuvit check` leaves: the device, each comparison with its error against its tolerance,
// the launchers reached (and any missed), the timings, and the wall time. Written as one JSON (the
// shared ReportJson style) and drawn as tables by the CLI.

using System.Globalization;
using ILGPU.Runtime.Cuda;
using IlgpuVit.Runtime;

namespace IlgpuVit.Experiments.Devices;

/// <summary>The device a check ran on, with what its driver reports.</summary>
/// <param name="Spec">Its Device.Open spelling.</param>
/// <param name="Name">The driver's name for it.</param>
/// <param name="ComputeUnits">Streaming multiprocessors (CUDA), compute units (OpenCL) or cores (CPU).</param>
/// <param name="MemoryBytes">Device memory.</param>
/// <param name="ClockMHz">Core clock (CUDA only).</param>
/// <param name="MemoryClockMHz">Memory clock (CUDA only).</param>
/// <param name="Architecture">Compute capability (CUDA only), e.g. "SM_90".</param>
public sealed record DeviceDescription(string Spec, string Name, int ComputeUnits, long MemoryBytes, double? ClockMHz, double? MemoryClockMHz,
    string? Architecture)
{
    /// <summary>Reads <paramref name="device"/>'s description.</summary>
    public static DeviceDescription Of(Device device)
    {
        var info = device.Info;
        var cuda = device.Accelerator.Device as CudaDevice;
        return new DeviceDescription(info.Spec, info.Name, info.ComputeUnits, info.MemoryBytes, cuda?.ClockRate / 1e3, cuda?.MemoryClockRate / 1e3,
            cuda?.Architecture?.ToString());
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name} ({Spec}), {ComputeUnits} compute units, {MemoryBytes / (1 << 20):N0} MiB" +
        (ClockMHz is { } clock ? string.Create(CultureInfo.InvariantCulture, $", {clock:F0} MHz, memory {MemoryClockMHz:F0} MHz, {Architecture}") : "");
}

/// <summary>One output-by-output comparison of the device with the CPU.</summary>
/// <param name="Name">What ran.</param>
/// <param name="Shape">Its shapes, in words.</param>
/// <param name="Tolerance">Largest accepted relative error.</param>
/// <param name="Error">max |device − cpu| / max |cpu| over the worst output; NaN when NaN appeared on one side only or the run failed.</param>
/// <param name="WorstOutput">Index of that output in the case's list.</param>
/// <param name="Passed">Error ≤ tolerance.</param>
/// <param name="Failure">The exception, when the run failed.</param>
public sealed record Comparison(string Name, string Shape, double Tolerance, double Error, int WorstOutput, bool Passed, string? Failure)
{
    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(Passed ? "pass" : "FAIL")} {Name} [{Shape}]: error {Error:G3} (tolerance {Tolerance:G3}, output {WorstOutput}){(Failure is null ? "" : ": " + Failure)}");
}

/// <summary>A finished check.</summary>
public sealed record DeviceCheckReport(DeviceDescription Device, bool Quick, IReadOnlyList<Comparison> Comparisons, IReadOnlyList<string> Launched,
    IReadOnlyList<string> NotReached, DeviceTimingReport? Timings, double Seconds)
{
    /// <summary>The PyTorch peer's report, when one was given.</summary>
    public PeerReport? Peer { get; init; }

    /// <summary>Our time over the peer's for every shape both timed; empty without a peer or timings.</summary>
    public IReadOnlyList<PeerRatio> PeerRatios => Peer is { } peer && Timings is { } timings ? peer.Ratios(timings) : [];

    /// <summary>Every comparison passed and every launcher was reached.</summary>
    public bool Passed => Comparisons.All(c => c.Passed) && NotReached.Count == 0;

    /// <summary>The comparisons as a table.</summary>
    public ResultTable ComparisonTable() => new($"{Device.Spec} against the CPU: {Comparisons.Count(c => c.Passed)} of {Comparisons.Count} passed",
        ["check", "shape", "error", "tolerance", "result"],
        Comparisons.Select(c => new[] { c.Name, c.Shape, F(c.Error, "G3"), F(c.Tolerance, "G3"), c.Passed ? "pass" : "FAIL" }).ToArray(),
        NotReached.Count == 0 ? $"every one of the {Launched.Count} launchers ran" : $"not reached: {string.Join(", ", NotReached)}");

    /// <summary>The ratios to the peer as a table.</summary>
    public ResultTable PeerTable() => new($"{Device.Spec} against PyTorch {Peer?.Torch} on {Peer?.Device} (time ratio: below 1 is faster)",
        ["shape", "ours ms", "torch ms", "ratio"],
        PeerRatios.Select(r => new[] { r.What, F(r.MedianMs, "F3"), F(r.PeerMs, "F3"), F(r.Ratio, "F2") }).ToArray());

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
