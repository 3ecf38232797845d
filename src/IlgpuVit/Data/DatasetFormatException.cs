// The error a data-set reader raises for a file it cannot use. The message always starts with the
// file's path and then says what is wrong (wrong magic, truncated, trailing bytes, bad label ...),
// so the message alone tells which file to replace and why.
namespace IlgpuVit.Data;

/// <summary>A data-set file exists but its contents are not what the format promises.</summary>
public sealed class DatasetFormatException : IOException
{
    /// <summary>Creates the error for <paramref name="path"/>; the message is "path: problem".</summary>
    public DatasetFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
    }

    /// <summary>The file that failed to read.</summary>
    public string Path { get; }
}
