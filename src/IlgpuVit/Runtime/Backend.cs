// The accelerator families IlgpuVit runs on, in the order a default device is chosen.
namespace IlgpuVit.Runtime;

/// <summary>An accelerator family. The default device is the first present of Cuda, OpenCL, Cpu.</summary>
public enum Backend
{
    /// <summary>NVIDIA GPUs through ILGPU's PTX backend.</summary>
    Cuda,

    /// <summary>OpenCL 2.0+ devices through ILGPU's OpenCL C backend.</summary>
    OpenCL,

    /// <summary>ILGPU's CPU accelerator, one worker per core, with the Vector512 fast path (see <see cref="CpuFastPath"/>).</summary>
    Cpu,
}
