// The error of a strict weight import: the file is a valid safetensors file, but its tensors do not
// fit the model. The message starts with the file's path, names the model, lists the problems and
// the options that would accept them; the full report rides along.
namespace IlgpuVit.IO;

/// <summary>A weights file does not fit the model (thrown in strict mode, before any parameter is written).</summary>
public sealed class WeightImportException(ImportReport report, string model)
    : IOException($"{report.Path}: the weights do not fit model '{model}'.\n{report.DescribeProblems()}")
{
    /// <summary>What the import found.</summary>
    public ImportReport Report { get; } = report;
}
