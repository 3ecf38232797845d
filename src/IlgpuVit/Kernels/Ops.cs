// Ops: the launchers of every forward kernel, one partial file per kernel family.
// Conventions for every launcher: outputs are written, never allocated (the caller owns them);
// shapes are checked before launch and errors name both shapes; kernels are loaded once per device.
namespace IlgpuVit.Kernels;

/// <summary>
/// Forward kernels of IlgpuVit. Each launcher checks shapes, then runs one ILGPU kernel (GEMM on
/// the CPU runs two: pack, then multiply) on the tensors' device.
/// </summary>
public static partial class Ops;
