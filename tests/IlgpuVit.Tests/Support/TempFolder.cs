// A fresh folder under the system temp folder for the files a test writes, deleted afterwards.

namespace IlgpuVit.Tests.Support;

/// <summary>A fresh temporary folder, deleted with everything in it on Dispose.</summary>
public sealed class TempFolder : IDisposable
{
    /// <summary>The folder's full path.</summary>
    public string Path { get; } = Directory.CreateTempSubdirectory("ilgpuvit-test-").FullName;

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
