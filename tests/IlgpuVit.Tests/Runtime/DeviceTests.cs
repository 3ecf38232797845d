using FluentAssertions;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Runtime;

public class DeviceTests
{
    [Fact]
    public void Lists_the_cpu_accelerator_with_every_core()
    {
        var cpu = Device.List().Should().Contain(d => d.Backend == Backend.Cpu).Subject;
        cpu.ComputeUnits.Should().Be(Environment.ProcessorCount);
        cpu.Spec.Should().Be("cpu");
    }

    [Fact]
    public void The_cpu_device_launches_one_thread_per_core()
    {
        var device = Backends.Cpu;
        device.Accelerator.NumMultiprocessors.Should().Be(Device.CpuWorkers, "one ILGPU multiprocessor per core");
        device.GroupSize.Should().Be(1, "groups of one thread never wait at ILGPU's per-group barrier");
        device.Accelerator.WarpSize.Should().Be(1, "an idle second warp thread would be woken by every launch");
        Device.CpuWorkers.Should().Be(Environment.ProcessorCount);
        device.Backend.Should().Be(Backend.Cpu);
    }

    [Fact]
    public void Default_choice_prefers_cuda_then_opencl_then_cpu()
    {
        using var device = Device.Open();
        var present = Device.List().Select(d => d.Backend).ToList();
        device.Backend.Should().Be(present.Min());
    }

    [Fact]
    public void An_absent_backend_names_the_devices_present()
    {
        var absent = Enum.GetValues<Backend>().FirstOrDefault(b => Device.List().All(d => d.Backend != b), Backend.Cpu);
        var act = () => Device.Open(absent, absent == Backend.Cpu ? 99 : 0);
        act.Should().Throw<BackendNotFoundException>().WithMessage("*Present:*cpu*");
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cpu:1:2")]
    public void A_bad_device_spelling_lists_the_valid_ones(string spec)
    {
        var act = () => Device.Open(spec);
        act.Should().Throw<ArgumentException>().WithMessage("*auto, cpu, cuda[:N] or opencl[:N]*");
    }

    [Fact]
    public void Opens_by_spelling()
    {
        using var device = Device.Open("CPU");
        device.Backend.Should().Be(Backend.Cpu);
    }
}

public class OneDeviceTests
{
    [Fact]
    public void Tensors_of_two_devices_cannot_meet_in_one_operation()
    {
        using var other = Device.Open(Backend.Cpu);
        using var x = Backends.Cpu.Zeros(2, 3);
        using var y = other.Zeros(2, 3);
        var act = () => IlgpuVit.Kernels.Ops.Softmax(x, y);
        act.Should().Throw<ArgumentException>().WithMessage("Softmax: tensors live on different devices*(2, 3)*");
    }
}
