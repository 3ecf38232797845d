// The device check (`ilgpuvit check`): its quick run on the GPU simulator against the CPU passes and
// reaches every launcher of Ops (so the GPU code paths agree with the CPU fast path), a device that
// computes something else fails with the output named, and the error measure treats NaN and ±Inf as
// values that must match exactly.

using FluentAssertions;
using IlgpuVit.Experiments.Devices;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Experiments;

public class DeviceCheckTests
{
    [Fact]
    public void The_quick_check_of_the_gpu_simulator_passes_and_reaches_every_launcher()
    {
        var lines = new List<string>();
        var report = DeviceCheck.Run(Backends.GpuSimulator, Backends.Cpu, new DeviceCheckSettings(Quick: true, Timings: false), lines.Add);
        string.Join("\n", report.Comparisons.Where(c => !c.Passed)).Should().BeEmpty();
        report.NotReached.Should().BeEmpty();
        report.Launched.Should().Contain(["ClsAttentionScore", "KeptTokenIndex", "TomePlan", "EtpsPlan", "EvitPlan", "RedistributeSizes", "CombineRowsBackward"]);
        report.Passed.Should().BeTrue();
        lines.Should().HaveCount(report.Comparisons.Count + 1, "one line for the device, then one per comparison");
    }

    [Fact]
    public void Every_public_launcher_is_one_the_check_must_reach()
    {
        var names = typeof(Ops).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static).Select(m => m.Name).Distinct();
        DeviceCheck.Launchers.Should().Contain(names.Except(DeviceCheck.Diagnostics).Select(DeviceCheck.Family));
        DeviceCheck.Launchers.Should().Contain(["Gemm", "Map", "Reduce", "Softmax", "AttentionBackward", "SgdStep"]).And.NotContain(["MatMul", "Add", "Sum"]);
    }

    [Fact]
    public void A_device_that_computes_something_else_fails_naming_the_output()
    {
        var result = DeviceCheck.Compare("probe", "3", 1e-4, inputs =>
        {
            var same = inputs.Uniform(1, 1, 3);
            var differs = inputs.Uniform(inputs.Device == Backends.Cpu ? 2 : 3, 1, 3);
            return [same, differs];
        }, Backends.GpuSimulator, Backends.Cpu);
        result.Passed.Should().BeFalse();
        result.WorstOutput.Should().Be(1);
        result.Error.Should().BeGreaterThan(1e-2);
    }

    [Fact]
    public void A_failing_run_is_reported_not_thrown()
    {
        var result = DeviceCheck.Compare("throws", "-", 1e-4, _ => throw new InvalidOperationException("boom"), Backends.GpuSimulator, Backends.Cpu);
        result.Passed.Should().BeFalse();
        result.Failure.Should().Be("InvalidOperationException: boom");
    }

    [Theory]
    [InlineData(new[] { 1f, 2f, float.NegativeInfinity }, new[] { 1f, 2.0009765625f, float.NegativeInfinity }, 0.00048828125)]
    [InlineData(new[] { 0f, 0f }, new[] { 0f, 1e-7f }, 1e-7)]
    public void Relative_error_is_against_the_largest_magnitude_and_matching_infinities_count_as_equal(float[] expected, float[] actual, double error) =>
        DeviceCheck.RelativeError(actual, expected).Should().BeApproximately(error, 1e-9);

    [Theory]
    [InlineData(float.NaN, 1f)]
    [InlineData(float.PositiveInfinity, float.NegativeInfinity)]
    [InlineData(1f, float.PositiveInfinity)]
    public void A_non_finite_value_on_one_side_only_is_NaN(float expected, float actual) =>
        DeviceCheck.RelativeError([actual], [expected]).Should().Be(double.NaN);

    [Fact]
    public void Peer_figures_become_ratios_for_the_shapes_both_timed()
    {
        using var folder = new TempFolder();
        var path = folder.File("peer.json");
        File.WriteAllText(path, """
            {"device": "NVIDIA H200", "torch": "2.5", "gemm": [{"m": 256, "n": 256, "k": 256, "medianMs": 0.5}, {"m": 1, "n": 1, "k": 1, "medianMs": 9}],
             "inference": [{"model": "vit_micro_patch4_28", "batch": 8, "source": "plain", "medianMs": 10}],
             "trainStep": {"model": "vit_micro_patch4_28", "batch": 8, "source": "timm", "medianMs": 40}}
            """);
        var ours = new DeviceTimingReport([new GemmTiming(256, 256, 256, 0.25, 0)], [],
            [new InferenceTiming("vit_micro_patch4_28", "none", 8, 15, 0, 0, 0, 0), new InferenceTiming("vit_micro_patch4_28", "tome:r=8", 8, 5, 0, 0, 0, 0)],
            new TrainStepTiming("vit_micro_patch4_28", 8, 20, 0));
        PeerReport.Read(path).Ratios(ours).Select(r => (r.What, r.Ratio)).Should().Equal(
            ("gemm 256x256x256", 0.5), ("vit_micro_patch4_28 batch 8 inference (plain)", 1.5), ("vit_micro_patch4_28 batch 8 training step (timm)", 0.5));
    }

    [Fact]
    public void A_file_that_is_not_a_peer_report_is_named()
    {
        using var folder = new TempFolder();
        var path = folder.File("peer.json");
        File.WriteAllText(path, "{bad");
        var act = () => PeerReport.Read(path);
        act.Should().Throw<FormatException>().WithMessage($"{path}: not a peer report of benchmarks/peers/torch_gpu.py*");
    }
}
