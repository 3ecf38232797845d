// What `ilgpuvit info` and Device.List() report about one accelerator.
namespace IlgpuVit.Runtime;

/// <summary>One accelerator found on this machine.</summary>
/// <param name="Backend">The accelerator family.</param>
/// <param name="Index">The index among devices of the same backend, as <see cref="Device.Open(Backend?, int)"/> takes it.</param>
/// <param name="Name">The device name the driver reports.</param>
/// <param name="MemoryBytes">Device memory (for the CPU: the memory available to this process).</param>
/// <param name="ComputeUnits">Cores for the CPU, streaming multiprocessors or compute units for GPUs.</param>
/// <param name="MaxGroupSize">The largest thread group a kernel may use.</param>
public sealed record DeviceInfo(Backend Backend, int Index, string Name, long MemoryBytes, int ComputeUnits, int MaxGroupSize)
{
    /// <summary>The spelling <see cref="Device.Open(string)"/> accepts, for example "cuda:0" or "cpu".</summary>
    public string Spec => SpecOverride ?? (Backend == Backend.Cpu ? "cpu" : $"{Backend.ToString().ToLowerInvariant()}:{Index}");

    /// <summary>A spelling other than the backend's own (a CPU accelerator of fewer cores: "cpu-1").</summary>
    public string? SpecOverride { get; init; }
}
