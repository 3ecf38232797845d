// Safetensors files crafted byte by byte (header length, header text, data) for the malformed-file tests.

using System.Buffers.Binary;
using System.Text;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public static class CraftedFiles
{
    /// <summary>Writes a file of the 8-byte length (the header's, unless overridden), the header bytes, then the data.</summary>
    public static string Craft(this TempFolder folder, string name, byte[] header, byte[] data, ulong? headerLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        string path = folder.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary><see cref="Craft(TempFolder, string, byte[], byte[], ulong?)"/> with a JSON header (single quotes become double quotes) and zeroed data.</summary>
    public static string Craft(this TempFolder folder, string name, string json, int dataBytes) =>
        folder.Craft(name, Encoding.UTF8.GetBytes(json.Replace('\'', '"')), new byte[dataBytes]);
}
