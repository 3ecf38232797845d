// The error every malformed safetensors file produces: the message starts with the file's path and
// then says which rule the file breaks.
namespace IlgpuVit.IO;

/// <summary>A file is not a valid safetensors file.</summary>
public sealed class SafeTensorsFormatException(string path, string problem)
    : IOException($"{path}: {problem}")
{
    /// <summary>The offending file.</summary>
    public string FilePath { get; } = path;

    /// <summary>What is wrong, without the path.</summary>
    public string Problem { get; } = problem;
}
