// The CPU fast path's own launcher (src/IlgpuVit/Runtime/CpuLauncher.cs): every index runs once, from
// any number of callers, after the workers have gone to sleep, with errors reaching the caller; and a
// model's forward and backward give the same bits as through ILGPU's CPU launches.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Runtime;

public class CpuLauncherTests
{
    private static CpuLauncher Launcher(Device device) => CpuLauncher.Of(device.Accelerator) ?? throw new InvalidOperationException("no launcher");

    [Fact]
    public void Every_index_runs_exactly_once()
    {
        using var device = Device.OpenCpu(3);
        var launcher = Launcher(device);
        launcher.Threads.Should().Be(3);
        foreach (int count in new[] { 0, 1, 2, 3, 7, 1000, 100_003 })
        {
            var runs = new int[count];
            launcher.For(count, i => Interlocked.Increment(ref runs[i]));
            runs.Count(r => r == 1).Should().Be(count, $"each of {count} indices runs once");
        }
        using var single = Device.OpenCpu(1);   // no workers: the caller runs every index
        var once = new int[5];
        Launcher(single).For(5, i => once[i]++);
        once.Should().OnlyContain(r => r == 1);
    }

    [Fact]
    public void Sleeping_workers_wake_for_the_next_launch()
    {
        using var device = Device.OpenCpu(2);
        var launcher = Launcher(device);
        for (int round = 0; round < 3; round++)
        {
            Thread.Sleep(20);   // past the workers' spin: they sleep
            var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
            long sum = 0;
            launcher.For(64, i => { Interlocked.Add(ref sum, i); threads[Environment.CurrentManagedThreadId] = true; Thread.SpinWait(20_000); });
            sum.Should().Be(63 * 64 / 2);
            threads.Should().NotBeEmpty();
        }
    }

    [Fact]
    public void Concurrent_callers_each_get_all_their_indices()
    {
        using var device = Device.OpenCpu(2);
        var launcher = Launcher(device);
        var totals = new long[4];
        Parallel.For(0, 4, caller =>
        {
            for (int launch = 0; launch < 50; launch++) launcher.For(97, i => Interlocked.Add(ref totals[caller], i + 1));
        });
        totals.Should().OnlyContain(t => t == 50L * 97 * 98 / 2);
    }

    [Fact]
    public void An_error_in_a_kernel_reaches_the_caller_and_the_next_launch_runs()
    {
        using var device = Device.OpenCpu(2);
        var launcher = Launcher(device);
        var act = () => launcher.For(1000, i => { if (i == 500) throw new InvalidOperationException("index 500 failed"); });
        act.Should().Throw<InvalidOperationException>().WithMessage("index 500 failed");
        int ran = 0;
        launcher.For(1000, _ => Interlocked.Increment(ref ran));
        ran.Should().Be(1000);
    }

    [Fact]
    public void A_disposed_device_launches_nothing()
    {
        var device = Device.OpenCpu(2);
        var launcher = Launcher(device);
        device.Dispose();
        var act = () => launcher.For(10, _ => { });
        act.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void The_gpu_simulator_and_switched_off_devices_launch_through_ilgpu()
    {
        using var ilgpu = Device.OpenCpu(2, ilgpuLaunches: true);
        CpuLauncher.Of(ilgpu.Accelerator).Should().BeNull();
        CpuLauncher.Of(Backends.Get("simulator").Accelerator).Should().BeNull();
        CpuLauncher.Of(Backends.Cpu.Accelerator).Should().NotBeNull();
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tome:r=4")]
    [InlineData("topk-vpa:rate=0.1")]
    public void A_training_step_gives_the_same_bits_through_either_launcher(string method)
    {
        // Each index runs the same code on the same data whichever thread takes it, so the results must match bit for bit.
        var results = new[] { false, true }.Select(ilgpuLaunches =>
        {
            using var device = Device.OpenCpu(2, ilgpuLaunches);
            var config = ModelRegistry.Get("vit_micro_patch4_28");
            using var model = new VisionTransformer(config, device, seed: 3);
            IlgpuVit.Reduction.ReductionSpec.Parse(method)?.Apply(model);
            using var images = device.FromArray(TestData.Uniform(5, 9 * 28 * 28), 9, 1, 28, 28);
            using var labels = Tensor<int>.FromArray(device, Enumerable.Range(0, 9).Select(i => i % 10).ToArray(), 9);
            using var tape = new Tape();
            var logits = model.Forward(tape, images);
            var values = logits.Value.ToArray();   // the backward releases the activations
            tape.Backward(tape.CrossEntropy(logits, labels));
            return values.Concat(model.Parameters().SelectMany(p => p.Grad!.ToArray())).ToArray();
        }).ToArray();
        results[0].Should().Equal(results[1]);
    }
}
