// Namespaces of .NET and ILGPU that kernel files use (ILGPU.Runtime brings the kernel loaders). The
// project's own namespaces are not global: each file names the layers it uses, and
// Architecture/LayeringTests checks them. The alias settles the one clash: IlgpuVit.Runtime.Device
// wins over ILGPU.Runtime.Device, which code names in full where it needs it.
global using System.Runtime.CompilerServices;
global using System.Runtime.Intrinsics;
global using ILGPU;
global using ILGPU.IR.Intrinsics;
global using ILGPU.Runtime;
global using Device = IlgpuVit.Runtime.Device;
