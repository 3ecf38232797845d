// One tensor to write to a safetensors file: a name, a row-major shape and the host data, whose
// element type picks the dtype (float -> F32, long -> I64, int -> I32). The data array is referenced,
// not copied, so it must not change until SafeTensors.Write returns.
using System.Runtime.InteropServices;

namespace IlgpuVit.IO;

/// <summary>A named host tensor for <see cref="SafeTensors.Write(string, IEnumerable{SafeTensor}, IReadOnlyDictionary{string, string}?)"/>.</summary>
public sealed class SafeTensor
{
    private readonly Array _data;
    private readonly int[] _shape;

    /// <summary>An F32 tensor.</summary>
    /// <param name="name">The tensor name; not empty and not "__metadata__".</param>
    /// <param name="shape">Dimensions, outermost first; [] for a scalar; 0 dimensions allowed (an empty tensor).</param>
    /// <param name="data">Row-major values; the length must be the product of <paramref name="shape"/>.</param>
    /// <exception cref="ArgumentException">Bad name, negative dimension, or a length that does not match the shape.</exception>
    public SafeTensor(string name, int[] shape, float[] data) : this(name, shape, data, SafeTensorDType.F32) { }

    /// <summary>An I64 tensor (labels, indices).</summary>
    /// <inheritdoc cref="SafeTensor(string, int[], float[])" path="/param"/>
    /// <exception cref="ArgumentException">Bad name, negative dimension, or a length that does not match the shape.</exception>
    public SafeTensor(string name, int[] shape, long[] data) : this(name, shape, data, SafeTensorDType.I64) { }

    /// <summary>An I32 tensor.</summary>
    /// <inheritdoc cref="SafeTensor(string, int[], float[])" path="/param"/>
    /// <exception cref="ArgumentException">Bad name, negative dimension, or a length that does not match the shape.</exception>
    public SafeTensor(string name, int[] shape, int[] data) : this(name, shape, data, SafeTensorDType.I32) { }

    private SafeTensor(string name, int[] shape, Array data, SafeTensorDType dtype)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (name.Length == 0)
            throw new ArgumentException("A safetensors tensor name must not be empty.", nameof(name));
        if (name == SafeTensorsHeader.MetadataKey)
            throw new ArgumentException($"'{name}' is reserved for the metadata and cannot name a tensor.", nameof(name));
        long elements = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Tensor '{name}' has a negative dimension in shape [{string.Join(", ", shape)}].", nameof(shape));
            elements = elements > long.MaxValue / Math.Max(d, 1) ? long.MaxValue : elements * d;   // saturates; no array is that long
        }
        if (elements != data.LongLength)
            throw new ArgumentException($"Tensor '{name}' has {data.LongLength} values, but shape [{string.Join(", ", shape)}] needs {elements}.", nameof(data));
        Name = name;
        _shape = (int[])shape.Clone();
        _data = data;
        DType = dtype;
    }

    /// <summary>The tensor name.</summary>
    public string Name { get; }

    /// <summary>The dimensions (a copy).</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>F32, I64 or I32, from the data's element type.</summary>
    public SafeTensorDType DType { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount => _data.LongLength;

    /// <summary>Bytes the tensor takes in the file.</summary>
    public long ByteLength => ElementCount * DType.ByteSize();

    internal ReadOnlySpan<int> ShapeSpan => _shape;

    /// <summary>Elements [start, start + count) as little-endian bytes (the host is little-endian; the writer checks).</summary>
    internal ReadOnlySpan<byte> Bytes(int start, int count) => DType switch
    {
        SafeTensorDType.F32 => MemoryMarshal.AsBytes(((float[])_data).AsSpan(start, count)),
        SafeTensorDType.I64 => MemoryMarshal.AsBytes(((long[])_data).AsSpan(start, count)),
        SafeTensorDType.I32 => MemoryMarshal.AsBytes(((int[])_data).AsSpan(start, count)),
        _ => throw new InvalidOperationException($"Tensor '{Name}': no writer for dtype {DType}."),
    };
}
