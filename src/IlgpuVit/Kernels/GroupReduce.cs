// Reductions across one thread group, for GPU bodies in which a group owns a row (docs/backends.md,
// "GPU row kernels"): every thread brings its partial, a tree in shared memory combines them, and
// every thread gets the result. Shared memory rather than warp shuffles, so one body serves CUDA,
// OpenCL and the GPU simulator alike. Every thread of the group must call it (it holds barriers).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>The largest group a row kernel launches: a power of two every backend allows.</summary>
    internal const int MaxRowGroup = 256;

    /// <summary>
    /// Threads per group for rows of <paramref name="n"/> elements: a power of two from 32 (a warp) to
    /// <see cref="MaxRowGroup"/> (or the device's limit), so short rows leave few threads idle and long ones loop.
    /// </summary>
    internal static int RowGroup(Device device, int n)
    {
        int limit = Math.Min(MaxRowGroup, device.Accelerator.MaxNumThreadsPerGroup);
        int size = 32;
        while (size < n && size < limit) size *= 2;
        return Math.Min(size, limit);
    }

    /// <summary>Combines <paramref name="value"/> of every thread of the group with <typeparamref name="TOp"/>; the group's size must be a power of two.</summary>
    internal static float GroupReduce<TOp>(float value, TOp op = default) where TOp : struct, IReduceOp
    {
        var partials = SharedMemory.Allocate<float>(MaxRowGroup);
        int thread = Group.IdxX;
        partials[thread] = value;
        Group.Barrier();
        for (int half = Group.DimX / 2; half > 0; half /= 2)
        {
            if (thread < half) partials[thread] = op.Combine(partials[thread], partials[thread + half]);
            Group.Barrier();
        }
        float total = partials[0];
        Group.Barrier();   // the next reduction may reuse the memory
        return total;
    }
}
