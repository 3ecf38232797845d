// Reductions across one thread group, for GPU bodies in which a group owns a row (docs/backends.md,
// "GPU row kernels"): every thread brings its partial through shared memory and every thread
// combines them all. Shared memory rather than warp shuffles, so one body serves CUDA, OpenCL and the
// GPU simulator alike. Every thread of the group must call it (it holds barriers).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>The largest group a row kernel launches: a power of two every backend allows.</summary>
    internal const int MaxRowGroup = 256;

    /// <summary>
    /// Threads per group for rows of <paramref name="n"/> elements: a power of two from 32 (a warp) to
    /// <see cref="MaxRowGroup"/> (or the device's limit), so short rows leave few threads idle and long ones loop.
    /// The GPU simulator runs each thread of a group as an OS thread that every barrier must wake, on two cores: there
    /// groups stay at 32, which runs the same body at a fraction of the cost.
    /// </summary>
    internal static int RowGroup(Device device, int n)
    {
        int limit = device.SimulatesGpu ? 32 : Math.Min(MaxRowGroup, device.Accelerator.MaxNumThreadsPerGroup);
        int size = 32;
        while (size < n && size < limit) size *= 2;
        return Math.Min(size, limit);
    }

    /// <summary>Combines <paramref name="value"/> of every thread of the group with <typeparamref name="TOp"/>; every thread gets the result.</summary>
    internal static float GroupReduce<TOp>(float value) where TOp : struct, IReduceOp => GroupCombine<float, Reduction<TOp>>(value);

    /// <summary>The smallest <paramref name="index"/> of the group's threads (argmax: ties go to the lower index).</summary>
    internal static int GroupMinIndex(int index) => GroupCombine<int, Smallest>(index);

    private interface ICombine<T> where T : unmanaged
    {
        T Combine(T a, T b);
    }

    private readonly struct Reduction<TOp> : ICombine<float> where TOp : struct, IReduceOp
    {
        public float Combine(float a, float b) => default(TOp).Combine(a, b);
    }

    private readonly struct Smallest : ICombine<int>
    {
        public int Combine(int a, int b) => Math.Min(a, b);
    }

    private static T GroupCombine<T, TCombine>(T value) where T : unmanaged where TCombine : struct, ICombine<T>
    {
        var partials = SharedMemory.Allocate<T>(MaxRowGroup);
        partials[Group.IdxX] = value;
        Group.Barrier();
        // Every thread combines all partials itself, in one order: the same result everywhere, and two barriers whatever
        // the group's size (a tree takes one per level). All threads read the same address at once, which GPUs serve as a
        // broadcast, and the partials are at most 256.
        T total = partials[0];
        for (int i = 1; i < Group.DimX; i++) total = default(TCombine).Combine(total, partials[i]);
        Group.Barrier();   // the next reduction may reuse the memory
        return total;
    }
}
