// Writes safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header padded with spaces to a multiple of 8 bytes (tensors sorted by name,
// "__metadata__" first), then the data in header order with no gaps. The write is atomic (AtomicFile):
// on any failure an existing target is left untouched.
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace IlgpuVit.IO;

/// <summary>Writing safetensors files; read them back with <see cref="SafeTensorsFile"/>.</summary>
public static class SafeTensors
{
    // Elements per write call: keeps each byte span far below 2 GB even for the largest tensor.
    private const int ChunkElements = 1 << 22;

    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/>, replacing it atomically.</summary>
    /// <exception cref="ArgumentException">Two tensors share a name, or a metadata key or value is null.</exception>
    /// <exception cref="IOException">The file could not be written; an existing file at <paramref name="path"/> is unchanged.</exception>
    public static void Write(string path, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors, metadata, afterTensor: null);

    /// <summary><see cref="Write(string, IEnumerable{SafeTensor}, IReadOnlyDictionary{string, string}?)"/>, calling <paramref name="afterTensor"/> after each tensor's data (a test seam for failures mid-write).</summary>
    internal static void Write(string path, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata, Action<SafeTensor>? afterTensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("SafeTensors.Write copies host memory as the file's little-endian data and needs a little-endian machine.");

        // Everything that can be wrong with the arguments fails here, before any file exists.
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        for (int i = 1; i < ordered.Count; i++)
            if (ordered[i].Name == ordered[i - 1].Name)
                throw new ArgumentException($"{path}: two tensors are named '{ordered[i].Name}'; names must be unique.", nameof(tensors));
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            if (key is null || value is null)
                throw new ArgumentException($"{path}: metadata entry '{key}' has a null {(key is null ? "key" : "value")}.", nameof(metadata));
        var header = Header(ordered, metadata);

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var t in ordered)
            {
                for (long at = 0; at < t.ElementCount; at += ChunkElements)
                    stream.Write(t.Bytes((int)at, (int)Math.Min(ChunkElements, t.ElementCount - at)));
                afterTensor?.Invoke(t);
            }
        });
    }

    /// <summary>The JSON header, padded with spaces to a multiple of 8 bytes.</summary>
    private static byte[] Header(IReadOnlyList<SafeTensor> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))   // names stay readable; not HTML
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in ordered)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (int d in t.ShapeSpan) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.ByteLength;
            }
            json.WriteEndObject();
        }
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
