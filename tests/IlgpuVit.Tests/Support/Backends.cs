// Every test that touches a kernel is written once and bound to each backend through
// [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]. A backend that
// is absent here is reported skipped, with the reason, rather than silently passing.
using IlgpuVit.Runtime;

namespace IlgpuVit.Tests.Support;

public static class Backends
{
    private static readonly Dictionary<Backend, Lazy<Device?>> Devices = Enum.GetValues<Backend>()
        .ToDictionary(b => b, b => new Lazy<Device?>(() => TryOpen(b)));

    private static readonly Lazy<Device> Simulator = new(Device.OpenGpuSimulator);

    /// <summary>The backend names every kernel test runs on.</summary>
    public static TheoryData<string> All => new() { "cpu", "cuda", "opencl" };

    /// <summary><see cref="All"/> and the GPU simulator, for kernels with a GPU body of their own (it runs that body here).</summary>
    public static TheoryData<string> AllAndSimulator => new() { "cpu", "simulator", "cuda", "opencl" };

    /// <summary>The shared device of a backend ("simulator": the GPU simulator), or a skip naming what is missing.</summary>
    public static Device Get(string name)
    {
        if (name == "simulator") return GpuSimulator;
        var backend = name switch { "cpu" => Backend.Cpu, "cuda" => Backend.Cuda, _ => Backend.OpenCL };
        var device = Devices[backend].Value;
        Skip.If(device is null, $"no {backend} device on this machine (found: {string.Join(", ", Device.List().Select(d => d.Spec))})");
        return device!;
    }

    /// <summary>The shared CPU device.</summary>
    public static Device Cpu => Devices[Backend.Cpu].Value!;

    /// <summary>A CPU accelerator with GPU-sized groups, running the GPU code paths.</summary>
    public static Device GpuSimulator => Simulator.Value;

    private static Device? TryOpen(Backend backend)
    {
        try
        {
            return Device.Open(backend);
        }
        catch (BackendNotFoundException)
        {
            return null;
        }
    }
}
