// Tensor: a contiguous row-major array in accelerator memory with a checked shape.
// A tensor owns a pooled buffer and returns it to its device's pool on Dispose; Reshape gives a
// non-owning alias of the same memory. Host<->device copies are explicit (CopyFrom, CopyTo).

using ILGPU.Runtime;

namespace IlgpuVit.Runtime;

/// <summary>What every tensor says about itself, whatever its element type.</summary>
public interface ITensor
{
    /// <summary>The device that holds the memory.</summary>
    Device Device { get; }

    /// <summary>The shape, outermost dimension first.</summary>
    Shape Shape { get; }

    /// <summary>
    /// Counts the writes to the memory (shared with reshaped views): every Ops launcher that touches the tensor and every
    /// host copy into it move it on, so what is derived from the contents (the CPU GEMM's packed weights) knows when to rebuild.
    /// </summary>
    long Version { get; }

    /// <summary>Moves <see cref="Version"/> on. Call it after writing through <see cref="Tensor{T}.View"/> with a kernel of your own.</summary>
    void MarkWritten();
}

/// <summary>A contiguous row-major tensor of <typeparamref name="T"/> (float for values, int for indices) on a device.</summary>
public sealed class Tensor<T> : ITensor, IDisposable where T : unmanaged
{
    private readonly MemoryBuffer1D<T, Stride1D.Dense>? _owned;
    private readonly ArrayView<T> _view;
    private readonly WriteCount _writes;
    private bool _disposed;

    private Tensor(Device device, Shape shape, MemoryBuffer1D<T, Stride1D.Dense>? owned, ArrayView<T> view, WriteCount writes)
    {
        Device = device;
        Shape = shape;
        _owned = owned;
        _view = view;
        _writes = writes;
    }

    /// <summary>The write counter of one block of memory, shared by the tensor that owns it and its views.</summary>
    private sealed class WriteCount
    {
        public long Value;
    }

    /// <inheritdoc/>
    public long Version => Volatile.Read(ref _writes.Value);

    /// <inheritdoc/>
    public void MarkWritten() => Interlocked.Increment(ref _writes.Value);

    /// <summary>
    /// What a kernel family derives from this tensor's contents and keeps with it (the CPU GEMM's packed copy of a weight),
    /// disposed with the tensor; owning tensors only, so it lives exactly as long as the memory.
    /// </summary>
    internal IDisposable? Derived { get; set; }

    /// <summary>Whether this tensor owns its memory (views made by <see cref="Reshape"/> do not).</summary>
    internal bool OwnsMemory => _owned is not null;

    /// <summary>The device that holds the memory.</summary>
    public Device Device { get; }

    /// <summary>The shape, outermost dimension first.</summary>
    public Shape Shape { get; }

    /// <summary>Number of elements.</summary>
    public long Length => Shape.Length;

    /// <summary>The accelerator memory, for kernel launches.</summary>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    public ArrayView<T> View
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _view;
        }
    }

    /// <summary>A new uninitialised tensor from the device pool (contents are whatever the buffer held).</summary>
    public static Tensor<T> Empty(Device device, params int[] shape)
    {
        var s = new Shape(shape);
        var (buffer, view) = device.Pool.RentView<T>(s.Length);
        return new Tensor<T>(device, s, buffer, view, new WriteCount());
    }

    /// <summary>A new zero-filled tensor.</summary>
    public static Tensor<T> Zeros(Device device, params int[] shape)
    {
        var t = Empty(device, shape);
        t.Clear();
        return t;
    }

    /// <summary>A new tensor holding a copy of <paramref name="data"/>.</summary>
    /// <exception cref="ShapeMismatchException">The data length differs from the shape's element count.</exception>
    public static Tensor<T> FromArray(Device device, ReadOnlySpan<T> data, params int[] shape)
    {
        var t = Empty(device, shape);
        try
        {
            t.CopyFrom(data);
        }
        catch
        {
            t.Dispose();
            throw;
        }
        return t;
    }

    /// <summary>Sets every element to zero.</summary>
    public void Clear()
    {
        View.MemSetToZero(Device.Accelerator.DefaultStream);
        MarkWritten();
    }

    /// <summary>Copies host data into the tensor.</summary>
    /// <exception cref="ShapeMismatchException">The data length differs from the tensor's.</exception>
    public void CopyFrom(ReadOnlySpan<T> data)
    {
        if (data.Length != Length)
            throw new ShapeMismatchException($"CopyFrom: {data.Length} host elements do not fill a tensor of shape {Shape} ({Length} elements).");
        View.CopyFromCPU(Device.Accelerator.DefaultStream, data);
        MarkWritten();
    }

    /// <summary>Copies the tensor into host memory, waiting for pending kernels first.</summary>
    /// <exception cref="ShapeMismatchException">The destination length differs from the tensor's.</exception>
    public void CopyTo(Span<T> destination)
    {
        if (destination.Length != Length)
            throw new ShapeMismatchException($"CopyTo: a host span of {destination.Length} elements cannot hold a tensor of shape {Shape} ({Length} elements).");
        Device.Synchronize();
        View.CopyToCPU(Device.Accelerator.DefaultStream, destination);
    }

    /// <summary>The contents as a new host array.</summary>
    public T[] ToArray()
    {
        var host = new T[Length];
        CopyTo(host);
        return host;
    }

    /// <summary>A view of the same memory with another shape of equal element count. The view does not own the memory.</summary>
    /// <exception cref="ShapeMismatchException">The element counts differ.</exception>
    public Tensor<T> Reshape(params int[] shape)
    {
        var s = new Shape(shape);
        if (s.Length != Length)
            throw new ShapeMismatchException($"Reshape: shape {Shape} ({Length} elements) cannot become {s} ({s.Length} elements).");
        return new Tensor<T>(Device, s, null, View, _writes);
    }

    /// <summary>Returns the memory to the device pool (owning tensors only). Safe to call twice.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Derived?.Dispose();
        Derived = null;
        if (_owned is not null) Device.Pool.Return(_owned);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Tensor<{typeof(T).Name}>{Shape} on {Device.Info.Spec}";
}
