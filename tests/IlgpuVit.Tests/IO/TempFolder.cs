// A fresh folder per test for the files the IO tests write, deleted afterwards, plus a way to craft
// safetensors files byte by byte (header length, header text, data) for the malformed-file tests.
using System.Buffers.Binary;
using System.Text;

namespace IlgpuVit.Tests.IO;

public sealed class TempFolder : IDisposable
{
    /// <summary>The folder's full path.</summary>
    public string Path { get; } = Directory.CreateTempSubdirectory("ilgpuvit-io-").FullName;

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes a file of the 8-byte length (the header's, unless overridden), the header bytes, then the data.</summary>
    public string Craft(string name, byte[] header, byte[] data, ulong? headerLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        string path = File(name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary><see cref="Craft(string, byte[], byte[], ulong?)"/> with a JSON header (single quotes become double quotes) and zeroed data.</summary>
    public string Craft(string name, string json, int dataBytes) =>
        Craft(name, Encoding.UTF8.GetBytes(json.Replace('\'', '"')), new byte[dataBytes]);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
