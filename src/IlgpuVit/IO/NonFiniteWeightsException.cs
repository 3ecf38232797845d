// The error of loading weights that hold NaN or ±Inf: a file written from a diverged run, or damaged.
// It is raised before any value is written, so the model keeps its weights. The message starts with
// the file's path and names the first such tensor (how many values, the first one's index and value),
// then how to load them anyway; every offending tensor rides along.
namespace IlgpuVit.IO;

/// <summary>A weights file holds non-finite values (thrown before any parameter is written).</summary>
public sealed class NonFiniteWeightsException(string path, IReadOnlyList<NonFiniteTensor> tensors)
    : IOException($"{path}: {tensors[0]}{More(tensors.Count)}; the weights are corrupt. " +
                  "Pass --allow-nonfinite (AllowNonFinite in code) to load them anyway.")
{
    /// <summary>The file.</summary>
    public string FilePath { get; } = path;

    /// <summary>Every tensor with non-finite values, in load order.</summary>
    public IReadOnlyList<NonFiniteTensor> Tensors { get; } = tensors;

    private static string More(int count) => count switch
    {
        1 => "",
        2 => ", and 1 more tensor does too",
        _ => $", and {count - 1} more tensors do too",
    };
}
