// Where one tensor of a safetensors file lives: its header entry, validated.
namespace IlgpuVit.IO;

/// <summary>One tensor's header entry.</summary>
/// <param name="Name">The tensor name (the header key).</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar; a dimension may be 0 (an empty tensor).</param>
/// <param name="Offset">First byte, counted from the start of the data area (the byte after the header), as in data_offsets.</param>
/// <param name="ByteLength">Bytes the tensor occupies: element count times the dtype's size.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, int[] Shape, long Offset, long ByteLength)
{
    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount => ByteLength / DType.ByteSize();

    /// <summary>The shape as "[3, 5]", for messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
