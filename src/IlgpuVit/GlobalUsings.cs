// Namespaces every kernel file uses. IlgpuVit's Device is preferred over ILGPU.Runtime.Device,
// which code names in full where it needs it.
global using System.Runtime.CompilerServices;
global using System.Runtime.Intrinsics;
global using ILGPU;
global using ILGPU.IR.Intrinsics;
global using ILGPU.Runtime;
global using IlgpuVit.Runtime;
global using Device = IlgpuVit.Runtime.Device;
global using IlgpuVit.Kernels;
