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
    internal static float GroupReduce<TOp>(float value, TOp op = default) where TOp : struct, IReduceOp
    {
        var partials = SharedMemory.Allocate<float>(MaxRowGroup);
        partials[Group.IdxX] = value;
        Group.Barrier();
        // Every thread combines all partials itself, in one order: the same result everywhere, and two barriers whatever
        // the group's size (a tree takes one per level). All threads read the same address at once, which GPUs serve as a
        // broadcast, and the partials are at most 256.
        float total = partials[0];
        for (int i = 1; i < Group.DimX; i++) total = op.Combine(total, partials[i]);
        Group.Barrier();   // the next reduction may reuse the memory
        return total;
    }
}
