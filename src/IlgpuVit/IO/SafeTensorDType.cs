// The element types a safetensors header may name, spelled exactly as in the format
// (https://github.com/huggingface/safetensors), with their sizes in bytes. Every dtype here can be
// located in a file; which ones can be decoded is up to SafeTensorsFile.ReadSingles / ReadIntegers.
namespace IlgpuVit.IO;

/// <summary>A safetensors element type; the member names are the format's dtype strings.</summary>
public enum SafeTensorDType
{
    /// <summary>IEEE 754 binary64.</summary>
    F64,
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary16.</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    BF16,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
    /// <summary>Unsigned 32-bit integer.</summary>
    U32,
    /// <summary>Unsigned 16-bit integer.</summary>
    U16,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>One byte per element, 0 or 1.</summary>
    BOOL,
}

/// <summary>Sizes and names of <see cref="SafeTensorDType"/> values.</summary>
public static class SafeTensorDTypes
{
    /// <summary>Bytes per element of <paramref name="dtype"/>.</summary>
    public static int ByteSize(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F64 or SafeTensorDType.I64 or SafeTensorDType.U64 => 8,
        SafeTensorDType.F32 or SafeTensorDType.I32 or SafeTensorDType.U32 => 4,
        SafeTensorDType.F16 or SafeTensorDType.BF16 or SafeTensorDType.I16 or SafeTensorDType.U16 => 2,
        SafeTensorDType.I8 or SafeTensorDType.U8 or SafeTensorDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype."),
    };

    /// <summary>The dtype spelled <paramref name="name"/> in a header (case-sensitive), or false.</summary>
    // A switch rather than Enum.TryParse, which would also accept "3" or "f32".
    public static bool TryParse(string name, out SafeTensorDType dtype)
    {
        SafeTensorDType? found = name switch
        {
            "F64" => SafeTensorDType.F64, "F32" => SafeTensorDType.F32, "F16" => SafeTensorDType.F16,
            "BF16" => SafeTensorDType.BF16, "I64" => SafeTensorDType.I64, "I32" => SafeTensorDType.I32,
            "I16" => SafeTensorDType.I16, "I8" => SafeTensorDType.I8, "U64" => SafeTensorDType.U64,
            "U32" => SafeTensorDType.U32, "U16" => SafeTensorDType.U16, "U8" => SafeTensorDType.U8,
            "BOOL" => SafeTensorDType.BOOL, _ => null,
        };
        dtype = found.GetValueOrDefault();
        return found.HasValue;
    }

    /// <summary>True for the dtypes <see cref="SafeTensorsFile.ReadSingles(string)"/> decodes.</summary>
    public static bool IsFloat(this SafeTensorDType dtype) =>
        dtype is SafeTensorDType.F64 or SafeTensorDType.F32 or SafeTensorDType.F16 or SafeTensorDType.BF16;
}
