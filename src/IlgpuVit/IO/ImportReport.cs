// What a weight import did, key by key, in the spirit of torch's load_state_dict result
// (missing_keys, unexpected_keys) plus what timm's loaders print: shape mismatches, converted
// dtypes, a resampled position embedding, a replaced head; and tensors holding NaN or ±Inf that were
// loaded because the caller allowed it. Model names are timm's; file keys are as
// the file spells them (torchvision's, for a torchvision file).
using System.Text;

namespace IlgpuVit.IO;

/// <summary>A tensor whose shape differs from the model parameter it names.</summary>
/// <param name="Parameter">The model's (timm) parameter name.</param>
/// <param name="FileKey">The key in the file.</param>
/// <param name="Expected">The model's shape.</param>
/// <param name="Found">The file's shape.</param>
/// <param name="Reason">Why it could not be adapted (and what option would), or null.</param>
public sealed record ShapeMismatch(string Parameter, string FileKey, int[] Expected, int[] Found, string? Reason = null)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{FileKey}: expected [{string.Join(", ", Expected)}], found [{string.Join(", ", Found)}]" + (Reason is null ? "" : $" ({Reason})");
}

/// <summary>A file tensor left out on purpose.</summary>
/// <param name="FileKey">The key in the file.</param>
/// <param name="Reason">Why (new head, distillation dropped).</param>
public sealed record SkippedKey(string FileKey, string Reason);

/// <summary>A tensor stored in another float type, converted to F32 while loading.</summary>
/// <param name="FileKey">The key in the file.</param>
/// <param name="From">The file's dtype (F16, BF16 or F64).</param>
public sealed record ConvertedKey(string FileKey, SafeTensorDType From);

/// <summary>The outcome of <see cref="WeightImporter"/>: what loaded, what did not, and why.</summary>
/// <param name="Path">The weights file.</param>
/// <param name="Layout">The naming the file was read with (detected, for <see cref="WeightLayout.Auto"/>).</param>
/// <param name="Loaded">Model parameters written from the file, in model order.</param>
/// <param name="Missing">Model parameters the file lacks (left as initialised).</param>
/// <param name="Unexpected">File keys no model parameter uses.</param>
/// <param name="Mismatched">Tensors whose shape does not fit and could not be adapted (their parameters are left as initialised).</param>
/// <param name="Skipped">File keys left out on purpose (a replaced head, DeiT's distillation token).</param>
/// <param name="Converted">Loaded tensors that were not F32.</param>
/// <param name="Notes">Adaptations made, as sentences (resampled pos_embed, new head, dropped distillation).</param>
public sealed record ImportReport(
    string Path,
    WeightLayout Layout,
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> Mismatched,
    IReadOnlyList<SkippedKey> Skipped,
    IReadOnlyList<ConvertedKey> Converted,
    IReadOnlyList<string> Notes)
{
    // Long lists (every key of a wrong architecture) are cut to this many names in messages.
    private const int Listed = 8;

    /// <summary>
    /// Loaded tensors (file keys) that hold NaN or ±Inf, with <see cref="WeightImportOptions.AllowNonFinite"/>; empty when
    /// every loaded value is finite.
    /// </summary>
    public IReadOnlyList<NonFiniteTensor> NonFinite { get; init; } = [];

    /// <summary>True when nothing is missing, unexpected or mis-shaped: every parameter came from the file.</summary>
    public bool IsComplete => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;

    /// <summary>The problems, one category a line ("" when complete), with the options that would fix them.</summary>
    public string DescribeProblems()
    {
        var text = new StringBuilder();
        if (Missing.Count > 0) text.AppendLine($"{Missing.Count} missing: {List(Missing)}.");
        if (Unexpected.Count > 0) text.AppendLine($"{Unexpected.Count} unexpected: {List(Unexpected)}.");
        if (Mismatched.Count > 0) text.AppendLine($"{Mismatched.Count} mis-shaped: {List(Mismatched.Select(m => m.ToString()).ToList())}.");
        return text.ToString().TrimEnd();
    }

    /// <summary>A summary: counts, dtype conversions, notes and problems, for logs.</summary>
    public override string ToString()
    {
        var text = new StringBuilder($"{Path} ({Layout} layout): {Loaded.Count} parameters loaded");
        if (Converted.Count > 0)
            text.Append(", converted to F32: " + string.Join(", ", Converted.GroupBy(c => c.From).Select(g => $"{g.Count()} {g.Key}")));
        text.AppendLine(".");
        foreach (var note in Notes) text.AppendLine(note);
        if (NonFinite.Count > 0) text.AppendLine($"Loaded although not finite: {List(NonFinite.Select(t => t.ToString()).ToList())}.");
        text.Append(DescribeProblems());
        return text.ToString().TrimEnd();
    }

    private static string List(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(Listed)) + (names.Count > Listed ? $" and {names.Count - Listed} more" : "");
}
