// A small tmpfs mounted for one test, for the failures a real disk cannot be made to show on demand:
// a full device (size in KiB) or a read-only file system. Mounting needs Linux and the right to
// mount (root in CI); elsewhere the test is skipped, with the reason.
using System.Diagnostics;

namespace IlgpuVit.Tests.Support;

public sealed class Tmpfs : IDisposable
{
    private Tmpfs(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="kib"/> KiB (read-only if <paramref name="readOnly"/>); skips the test if it cannot.</summary>
    public static Tmpfs Mount(int kib, bool readOnly = false)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "tmpfs mounts need Linux");
        string path = Directory.CreateTempSubdirectory("ilgpuvit-tmpfs-").FullName;
        var (code, error) = Run("mount", "-t", "tmpfs", "-o", $"size={kib}k{(readOnly ? ",ro" : "")}", "tmpfs", path);
        if (code != 0) Directory.Delete(path);
        Skip.If(code != 0, $"cannot mount a tmpfs here ({error.Trim()}); run as root to test full and read-only disks");
        return new Tmpfs(path);
    }

    /// <summary>Remounts the file system read-only (what was written stays readable).</summary>
    public void MakeReadOnly()
    {
        var (code, error) = Run("mount", "-o", "remount,ro", Path);
        if (code != 0) throw new InvalidOperationException($"remount read-only failed: {error}");
    }

    public void Dispose()
    {
        Run("umount", "-l", Path);
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    private static (int Code, string Error) Run(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, error);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
