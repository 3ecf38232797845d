// An image the loader could not use: which file, its class, and why. The loader skips it and goes on;
// these records (and their count) are how a run tells the user which files to replace.
namespace IlgpuVit.Images;

/// <summary>An image that failed to read or decode and was skipped.</summary>
/// <param name="Path">The file.</param>
/// <param name="Label">The label it would have had.</param>
/// <param name="Reason">What went wrong, e.g. "is truncated or corrupt: ..." or "FileNotFoundException: ...".</param>
public sealed record ImageLoadFailure(string Path, int Label, string Reason)
{
    /// <summary>"path: reason", one line for a log.</summary>
    public override string ToString() => $"{Path}: {Reason}";
}
