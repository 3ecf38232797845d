// A pooled allocator: disposed tensors return their buffer here, and a later tensor of the same
// element type and length reuses it, so a training loop that repeats its shapes stops allocating
// after the first step. Failed allocations trim the pool once, then report the size asked for.
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using ILGPU.Runtime;

namespace IlgpuVit.Runtime;

/// <summary>Per-device memory pool, keyed by element type and length.</summary>
public sealed class TensorPool : IDisposable
{
    private readonly Device _device;
    private readonly Dictionary<(Type, long), Stack<MemoryBuffer>> _free = new();
    private readonly Lock _lock = new();

    internal TensorPool(Device device) => _device = device;

    /// <summary>Buffers allocated from the accelerator so far (reuse does not count).</summary>
    public long Allocations { get; private set; }

    /// <summary>Bytes held by live tensors.</summary>
    public long LiveBytes { get; private set; }

    /// <summary>Bytes held in the pool, ready for reuse.</summary>
    public long PooledBytes { get; private set; }

    /// <summary>
    /// A buffer of at least <paramref name="length"/> + <paramref name="pad"/> elements: of <see cref="SizeClass"/> of that,
    /// so tensors of nearby lengths share buffers. Out of memory names the <paramref name="length"/> asked for.
    /// </summary>
    internal MemoryBuffer1D<T, Stride1D.Dense> Rent<T>(long length, int pad = 0) where T : unmanaged
    {
        long capacity = SizeClass(length + pad), bytes = capacity * Interop.SizeOf<T>();
        lock (_lock)
        {
            if (_free.TryGetValue((typeof(T), capacity), out var stack) && stack.Count > 0)
            {
                PooledBytes -= bytes;
                LiveBytes += bytes;
                return (MemoryBuffer1D<T, Stride1D.Dense>)stack.Pop();
            }
        }
        var buffer = Allocate<T>(capacity, length);
        lock (_lock)
        {
            Allocations++;
            LiveBytes += bytes;
        }
        return buffer;
    }

    /// <summary>The alignment of every tensor's first element on the CPU: one cache line, the width of a Vector512.</summary>
    internal const int CpuAlignment = 64;

    /// <summary>
    /// A buffer for <paramref name="length"/> elements and the view of them a tensor uses. On the CPU the view starts
    /// on a cache line: ILGPU's CPU buffers are only 16-byte aligned (large ones sit 16 bytes past a page), so without
    /// this every 64-byte vector load of a kernel straddled two lines, and a small buffer's luck (weights, packed
    /// panels) differed from process to process (docs/backends.md, "Memory pool").
    /// </summary>
    internal (MemoryBuffer1D<T, Stride1D.Dense> Buffer, ArrayView<T> View) RentView<T>(long length) where T : unmanaged
    {
        int size = Interop.SizeOf<T>();
        int pad = _device.Accelerator.AcceleratorType == AcceleratorType.CPU && CpuAlignment % size == 0 ? CpuAlignment / size - 1 : 0;
        var buffer = Rent<T>(length, pad);
        long shift = pad == 0 ? 0 : (CpuAlignment - buffer.NativePtr.ToInt64() % CpuAlignment) % CpuAlignment / size;
        return (buffer, buffer.View.SubView(shift, length));
    }

    /// <summary>
    /// The buffer length that holds <paramref name="length"/> elements: four classes per power of two (2^e, 1.25, 1.5 and
    /// 1.75 times 2^e), so at most a quarter is unused. Why: a pruned model's blocks each see another token count, and with
    /// buffers of exact lengths each block would hold buffers of its own, a working set several times the cache's; with
    /// classes the blocks reuse each other's (docs/backends.md, "Memory pool").
    /// </summary>
    internal static long SizeClass(long length)
    {
        if (length <= 16) return length;
        int e = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)length);
        long step = 1L << (e - 2);
        return (length + step - 1) / step * step;
    }

    internal void Return<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer) where T : unmanaged
    {
        lock (_lock)
        {
            long bytes = buffer.LengthInBytes;
            LiveBytes -= bytes;
            PooledBytes += bytes;
            var key = (typeof(T), buffer.Length);
            if (!_free.TryGetValue(key, out var stack)) _free[key] = stack = new Stack<MemoryBuffer>();
            stack.Push(buffer);
        }
    }

    /// <summary>Frees every pooled buffer back to the accelerator.</summary>
    public void Trim()
    {
        lock (_lock)
        {
            foreach (var stack in _free.Values)
                while (stack.Count > 0) stack.Pop().Dispose();
            _free.Clear();
            PooledBytes = 0;
        }
    }

    private MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long capacity, long length) where T : unmanaged
    {
        long bytes = length * Interop.SizeOf<T>();
        try
        {
            return _device.Accelerator.Allocate1D<T>(capacity);
        }
        catch (Exception first) when (IsOutOfMemory(first))
        {
            Trim();
            try
            {
                return _device.Accelerator.Allocate1D<T>(capacity);
            }
            catch (Exception e) when (IsOutOfMemory(e))
            {
                throw new DeviceOutOfMemoryException(
                    $"{_device} is out of memory: asked for {FormatBytes(bytes)} ({length} x {typeof(T).Name}) " +
                    $"with {FormatBytes(LiveBytes)} in live tensors.", bytes, e);
            }
        }
    }

    // Each backend reports exhaustion its own way: the CPU accelerator with OutOfMemoryException,
    // CUDA with a CudaException naming CUDA_ERROR_OUT_OF_MEMORY, OpenCL with an allocation error code.
    private static bool IsOutOfMemory(Exception e) => e switch
    {
        OutOfMemoryException => true,
        CudaException cuda => cuda.Error.Contains("OUT_OF_MEMORY", StringComparison.Ordinal),
        CLException cl => cl.Error is CLError.CL_MEM_OBJECT_ALLOCATION_FAILURE or CLError.CL_OUT_OF_RESOURCES or CLError.CL_OUT_OF_HOST_MEMORY,
        _ => false,
    };

    internal static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 40 => $"{bytes / (double)(1L << 40):0.##} TiB",
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} B",
    };

    /// <inheritdoc/>
    public void Dispose() => Trim();
}
