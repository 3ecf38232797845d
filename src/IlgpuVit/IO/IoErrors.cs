// One line for a failed file operation: the path and the cause in words a user acts on (no space,
// read-only, permission, not a file, not a folder). .NET reports the operating system's error code
// in HResult (the errno on Linux and macOS, a Win32 code wrapped in 0x8007xxxx on Windows) and the
// path inside its message; both are read here so every caller words failures alike.

using System.Text.RegularExpressions;

namespace IlgpuVit.IO;

/// <summary>Describes I/O failures.</summary>
public static partial class IoErrors
{
    private const int ENOTDIR = 20, EISDIR = 21, ENOSPC = 28, EROFS = 30, EDQUOT = 122;
    private const int EAGAIN = 11, EWOULDBLOCK_MAC = 35;
    private const int WinDiskFull = unchecked((int)0x80070070), WinHandleDiskFull = unchecked((int)0x80070027), WinSharingViolation = unchecked((int)0x80070020);

    /// <summary>Whether <paramref name="e"/> says another process holds a lock on the file (FileShare.None).</summary>
    public static bool IsLockedByAnother(IOException e) => e.HResult is EAGAIN or EWOULDBLOCK_MAC or WinSharingViolation;

    /// <summary>"PATH: CAUSE" for an I/O exception; other exceptions give their message.</summary>
    public static string Describe(Exception e)
    {
        string? path = e is FileNotFoundException { FileName: { } f } ? f : PathIn(e.Message);
        string? cause = Cause(e);
        if (cause is null || path is null) return e.Message;
        return $"{path}: {cause}";
    }

    private static string? Cause(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        FileNotFoundException => "no such file",
        DirectoryNotFoundException => "no such folder (or a part of the path is a file)",
        IOException { HResult: ENOSPC or EDQUOT or WinDiskFull or WinHandleDiskFull } => "no space left on the device",
        IOException { HResult: EROFS } => "the file system is read-only",
        IOException { HResult: EISDIR } => "is a folder, not a file",
        IOException { HResult: ENOTDIR } => "a part of the path is a file, not a folder",
        _ => null,
    };

    /// <summary>The first quoted path in a .NET I/O message ("... '/runs/a/metrics.jsonl' ...").</summary>
    private static string? PathIn(string message) => QuotedPath().Match(message) is { Success: true } m ? m.Groups[1].Value : null;

    [GeneratedRegex("'([^']+)'")]
    private static partial Regex QuotedPath();
}
