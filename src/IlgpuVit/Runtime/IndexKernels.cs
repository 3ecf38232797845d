// Loading an index kernel: through the device's CpuLauncher on the CPU fast path, through ILGPU's
// implicitly grouped launcher elsewhere (GPUs, the GPU simulator, or the CPU with the launcher switched off:
// CpuLauncher.cs). One overload per parameter count, as ILGPU's own loaders come; each only forwards.

using ILGPU.Runtime;

namespace IlgpuVit.Runtime;

/// <summary>Loaders of kernels whose first parameter is the launch index.</summary>
internal static class IndexKernels
{
    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1> LoadIndexKernel<T1>(this Accelerator accelerator,
        Action<Index1D, T1> kernel, int group) where T1 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1) => cpu.For(extent.X, i => kernel(i, a1))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <summary>Loads <paramref name="kernel"/> (see the file comment).</summary>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3> LoadIndexKernel<T1, T2, T3>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3> kernel, int group) where T1 : struct where T2 : struct where T3 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3) => cpu.For(extent.X, i => kernel(i, a1, a2, a3))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4> LoadIndexKernel<T1, T2, T3, T4>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5> LoadIndexKernel<T1, T2, T3, T4, T5>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4, T5> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4, a5) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4, a5))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5, T6> LoadIndexKernel<T1, T2, T3, T4, T5, T6>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4, T5, T6> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4, a5, a6) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4, a5, a6))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5, T6, T7> LoadIndexKernel<T1, T2, T3, T4, T5, T6, T7>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4, T5, T6, T7> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4, a5, a6, a7) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4, a5, a6, a7))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5, T6, T7, T8> LoadIndexKernel<T1, T2, T3, T4, T5, T6, T7, T8>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4, a5, a6, a7, a8) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4, a5, a6, a7, a8))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9> LoadIndexKernel<T1, T2, T3, T4, T5, T6, T7, T8, T9>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4, a5, a6, a7, a8, a9) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4, a5, a6, a7, a8, a9))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> LoadIndexKernel<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> LoadIndexKernel<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct where T11 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

    /// <inheritdoc cref="LoadIndexKernel{T1, T2, T3}"/>
    public static Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13> LoadIndexKernel<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13>(this Accelerator accelerator,
        Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13> kernel, int group) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct where T11 : struct where T12 : struct where T13 : struct =>
        CpuLauncher.Of(accelerator) is { } cpu
            ? (_, extent, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) => cpu.For(extent.X, i => kernel(i, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13))
            : accelerator.LoadImplicitlyGroupedKernel(kernel, group);

}
