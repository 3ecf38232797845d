// The content of every file in a folder, hashed, to show that a refused or failed command changed
// nothing a user had saved.
using System.Security.Cryptography;

namespace IlgpuVit.Tests.Support;

public static class FileHashes
{
    /// <summary>File name → SHA-256 (hex) of every file directly in <paramref name="folder"/>, hidden ones included.</summary>
    public static Dictionary<string, string> Of(string folder) =>
        Directory.EnumerateFiles(folder).ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
