// Reads a safetensors file (https://github.com/huggingface/safetensors): the header is parsed and
// validated at Open; tensor data is read on demand with positional reads, so a 1.2 GB ViT-L
// checkpoint costs only the tensors asked for. Floats decode from F32/F16/BF16/F64, integers from
// the integer dtypes and BOOL; data is little-endian, row-major. Reads are thread-safe (RandomAccess
// keeps no shared position).
using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace IlgpuVit.IO;

/// <summary>An open safetensors file; tensors are read on demand. Dispose to close the file.</summary>
public sealed class SafeTensorsFile : IDisposable
{
    // Decoding reads through a pooled buffer of this many bytes, so a converted tensor never needs a
    // second full-size copy.
    private const int ChunkBytes = 1 << 20;

    private readonly SafeFileHandle _handle;
    private readonly long _dataStart;

    private SafeTensorsFile(string path, SafeFileHandle handle, long dataStart, SafeTensorsHeader header)
    {
        Path = path;
        _handle = handle;
        _dataStart = dataStart;
        Metadata = header.Metadata;
        Tensors = header.Tensors;
    }

    /// <summary>The file's path as given to <see cref="Open"/>.</summary>
    public string Path { get; }

    /// <summary>The "__metadata__" entries; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor's header entry, by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors { get; }

    /// <summary>Opens <paramref name="path"/> and validates its header against the file's length.</summary>
    /// <exception cref="SafeTensorsFormatException">The file breaks a format rule, or the path is a folder; the message names the file and the rule.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path)
    {
        // Opening a folder fails with "access denied" on Linux, which would send the user looking at permissions.
        if (Directory.Exists(path)) throw new SafeTensorsFormatException(path, "is a folder, not a file: give the safetensors file in it.");
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8)
                throw new SafeTensorsFormatException(path, $"the file has {fileLength} bytes, fewer than the 8-byte header length.");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, prefix, 0, path);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > SafeTensorsHeader.MaxBytes)
                throw new SafeTensorsFormatException(path, $"the header length {headerLength} is above the {SafeTensorsHeader.MaxBytes}-byte limit.");
            if ((long)headerLength > fileLength - 8)
                throw new SafeTensorsFormatException(path, $"the header length {headerLength} goes beyond the file, which has {fileLength - 8} bytes after the length.");
            var json = new byte[headerLength];
            ReadExactly(handle, json, 8, path);
            long dataStart = 8 + (long)headerLength;
            var header = SafeTensorsHeader.Parse(json, fileLength - dataStart, path);
            return new SafeTensorsFile(path, handle, dataStart, header);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The entry of tensor <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor; the message lists the closest names.</exception>
    public SafeTensorInfo Info(string name) =>
        Tensors.TryGetValue(name, out var info) ? info
            : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'. {NameSuggestions.Describe(name, Tensors.Keys)}");

    /// <summary>Reads tensor <paramref name="name"/> (F32, F16, BF16 or F64) as floats, row-major.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    /// <exception cref="ArgumentException">The tensor is not a float dtype.</exception>
    public float[] ReadSingles(string name)
    {
        var info = Info(name);
        var result = new float[CheckedLength(info)];
        ReadSingles(info, result);
        return result;
    }

    /// <summary>Reads tensor <paramref name="name"/> as floats into <paramref name="destination"/>, whose length must equal the element count.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    /// <exception cref="ArgumentException">The tensor is not a float dtype, or the destination's length differs.</exception>
    public void ReadSingles(string name, Span<float> destination) => ReadSingles(Info(name), destination);

    /// <summary>Reads tensor <paramref name="name"/> (any integer dtype or BOOL) as 64-bit integers, row-major.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    /// <exception cref="ArgumentException">The tensor is not an integer dtype.</exception>
    /// <exception cref="OverflowException">A U64 value exceeds <see cref="long.MaxValue"/>.</exception>
    public long[] ReadIntegers(string name)
    {
        var info = Info(name);
        if (info.DType.IsFloat())
            throw new ArgumentException($"{Path}: tensor '{name}' has dtype {info.DType}; ReadIntegers reads integer and BOOL tensors (use ReadSingles).", nameof(name));
        var result = new long[CheckedLength(info)];
        Decode(info, result.AsSpan(), (bytes) => DecodeInteger(info, bytes));
        return result;
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();

    private void ReadSingles(SafeTensorInfo info, Span<float> destination)
    {
        if (!info.DType.IsFloat())
            throw new ArgumentException($"{Path}: tensor '{info.Name}' has dtype {info.DType}; ReadSingles reads F32, F16, BF16 and F64 (use ReadIntegers).", "name");
        if (destination.Length != info.ElementCount)
            throw new ArgumentException($"{Path}: tensor '{info.Name}' {info.ShapeText} has {info.ElementCount} elements, the destination {destination.Length}.", nameof(destination));
        if (info.DType == SafeTensorDType.F32 && BitConverter.IsLittleEndian)
        {
            // The file's bytes are already the floats: read straight into the destination.
            ReadExactly(_handle, MemoryMarshal.AsBytes(destination), _dataStart + info.Offset, Path);
            return;
        }
        Decode(info, destination, Decoder(info.DType));
    }

    /// <summary>Reads the tensor's bytes in whole-element chunks and decodes each element into <paramref name="destination"/>.</summary>
    private void Decode<T>(SafeTensorInfo info, Span<T> destination, ElementDecoder<T> decode)
    {
        int size = info.DType.ByteSize();
        int done = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);   // ChunkBytes is a multiple of every dtype size
        try
        {
            for (long at = 0; at < info.ByteLength; at += ChunkBytes)
            {
                var bytes = buffer.AsSpan(0, (int)Math.Min(ChunkBytes, info.ByteLength - at));
                ReadExactly(_handle, bytes, _dataStart + info.Offset + at, Path);
                for (int i = 0; i < bytes.Length; i += size)
                    destination[done++] = decode(bytes.Slice(i, size));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private delegate T ElementDecoder<T>(ReadOnlySpan<byte> bytes);

    private static ElementDecoder<float> Decoder(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 => static b => BinaryPrimitives.ReadSingleLittleEndian(b),
        SafeTensorDType.F64 => static b => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
        SafeTensorDType.F16 => static b => (float)BinaryPrimitives.ReadHalfLittleEndian(b),
        // bfloat16 is the top half of a binary32: shift it back into place.
        SafeTensorDType.BF16 => static b => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a float dtype."),
    };

    private long DecodeInteger(SafeTensorInfo info, ReadOnlySpan<byte> b) => info.DType switch
    {
        SafeTensorDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(b),
        SafeTensorDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(b),
        SafeTensorDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(b),
        SafeTensorDType.I8 => (sbyte)b[0],
        SafeTensorDType.U64 => CheckedU64(info, BinaryPrimitives.ReadUInt64LittleEndian(b)),
        SafeTensorDType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(b),
        SafeTensorDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(b),
        SafeTensorDType.U8 or SafeTensorDType.BOOL => b[0],
        _ => throw new ArgumentOutOfRangeException(nameof(info), info.DType, "Not an integer dtype."),
    };

    private long CheckedU64(SafeTensorInfo info, ulong value) => value <= long.MaxValue
        ? (long)value
        : throw new OverflowException($"{Path}: tensor '{info.Name}' holds U64 value {value}, above {long.MaxValue}.");

    private int CheckedLength(SafeTensorInfo info) => info.ElementCount <= Array.MaxLength
        ? (int)info.ElementCount
        : throw new NotSupportedException($"{Path}: tensor '{info.Name}' {info.ShapeText} has {info.ElementCount} elements, more than one .NET array holds.");

    /// <summary>Fills <paramref name="into"/> from <paramref name="offset"/>; a short read means the file shrank since Open.</summary>
    private static void ReadExactly(SafeFileHandle handle, Span<byte> into, long offset, string path)
    {
        while (!into.IsEmpty)
        {
            int n = RandomAccess.Read(handle, into, offset);
            if (n == 0)
                throw new EndOfStreamException($"{path}: the file ended at byte {offset}, before the data the header promises (was it truncated after opening?).");
            into = into[n..];
            offset += n;
        }
    }
}
