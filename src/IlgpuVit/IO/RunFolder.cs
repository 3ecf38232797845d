// A training run's folder, owned by one run at a time (docs/runs.md). Ownership is an exclusive
// lock on a hidden file, held for the owner's life: the operating system releases it when the
// process ends however it ends (kill -9 included), so a lock never outlives its holder. Beside it a
// small owner file says who holds the lock, for the error a second writer gets; an owner file found
// by a process that did get the lock was left by a holder that died, and is reported as stale. The
// lock file itself is never deleted: removing it while another process opens it would let two
// holders lock two different files of one name.

using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace IlgpuVit.IO;

/// <summary>A run folder another run cannot enter, or that holds a run a new one would replace.</summary>
public sealed class RunFolderException(string message) : IOException(message);

/// <summary>Exclusive ownership of a run folder: its checkpoint, metrics log and summary.</summary>
/// <example><code>using var folder = RunFolder.Acquire("runs/a");     // throws if another run holds it
/// if (folder.HoldsRun) folder.Clear();                         // only when replacing the run was asked for</code></example>
public sealed partial class RunFolder : IDisposable
{
    /// <summary>The checkpoint's file name in a run folder.</summary>
    public const string CheckpointFile = "checkpoint.safetensors";

    /// <summary>The metrics log's file name.</summary>
    public const string MetricsFile = "metrics.jsonl";

    /// <summary>The summary's file name.</summary>
    public const string SummaryFile = "summary.json";

    private const string LockFile = ".ilgpuvit.lock", OwnerFile = ".ilgpuvit.owner";
    private static readonly string[] RunFiles = [CheckpointFile, MetricsFile, SummaryFile];

    private readonly FileStream _lock;

    private RunFolder(string path, FileStream @lock, string? staleOwner, IReadOnlyList<string> removed)
    {
        Path = path;
        _lock = @lock;
        StaleOwner = staleOwner;
        RemovedTemporaryFiles = removed;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>The checkpoint's path.</summary>
    public string Checkpoint => System.IO.Path.Combine(Path, CheckpointFile);

    /// <summary>The metrics log's path.</summary>
    public string Metrics => System.IO.Path.Combine(Path, MetricsFile);

    /// <summary>The summary's path.</summary>
    public string Summary => System.IO.Path.Combine(Path, SummaryFile);

    /// <summary>Who held the folder before and died without releasing it (null if nobody): reported, then replaced.</summary>
    public string? StaleOwner { get; }

    /// <summary>Temporary files of interrupted atomic writes that <see cref="Acquire"/> removed.</summary>
    public IReadOnlyList<string> RemovedTemporaryFiles { get; }

    /// <summary>Whether the folder holds (part of) a run: a checkpoint, a metrics log or a summary.</summary>
    public bool HoldsRun => RunFiles.Any(f => File.Exists(System.IO.Path.Combine(Path, f)));

    /// <summary>Creates <paramref name="path"/> if needed and takes it for this process until <see cref="Dispose"/>.</summary>
    /// <exception cref="RunFolderException">Another live process holds the folder (the message names it), or the path is a file.</exception>
    /// <exception cref="IOException">The folder cannot be created or written (see <see cref="IoErrors"/>).</exception>
    public static RunFolder Acquire(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path)) throw new RunFolderException($"{path} is a file, not a folder: give a folder for the run.");
        Directory.CreateDirectory(path);
        string lockPath = System.IO.Path.Combine(path, LockFile), ownerPath = System.IO.Path.Combine(path, OwnerFile);
        FileStream @lock;
        try
        {
            @lock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IoErrors.IsLockedByAnother(e))
        {
            throw new RunFolderException($"{path} is in use by another run ({ReadOwner(ownerPath) ?? "owner unknown"}): " +
                                         "wait for it to finish, or give another folder.");
        }
        try
        {
            string? stale = ReadOwner(ownerPath);
            File.WriteAllText(ownerPath, JsonSerializer.Serialize(Owner.Current()));
            var removed = RemoveTemporaryFiles(path);
            return new RunFolder(path, @lock, stale, removed);
        }
        catch
        {
            @lock.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="path"/> holds a run's files or is held by a run now.</summary>
    public static bool HoldsRunAt(string path) =>
        RunFiles.Append(OwnerFile).Any(f => File.Exists(System.IO.Path.Combine(path, f)));

    /// <summary><paramref name="path"/> if it holds no run, else the first of path-2, path-3, ... that holds none.</summary>
    public static string FirstFree(string path)
    {
        string candidate = path;
        for (int n = 2; HoldsRunAt(candidate) || File.Exists(candidate); n++) candidate = $"{path}-{n}";
        return candidate;
    }

    /// <summary>Deletes the run's checkpoint, metrics log and summary (a new run replaces it).</summary>
    public void Clear()
    {
        foreach (var f in RunFiles) File.Delete(System.IO.Path.Combine(Path, f));
    }

    /// <summary>Releases the folder.</summary>
    public void Dispose()
    {
        try { File.Delete(System.IO.Path.Combine(Path, OwnerFile)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }    // the lock is what counts; it goes below
        _lock.Dispose();
    }

    /// <summary>Who holds the folder, as one phrase; null when no owner file is readable.</summary>
    private static string? ReadOwner(string ownerPath)
    {
        try
        {
            var o = JsonSerializer.Deserialize<Owner>(File.ReadAllText(ownerPath));
            return o is null ? null : $"process {o.Pid} on {o.Host}, started {o.Started:yyyy-MM-dd HH:mm:ss}Z: {o.Command}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }

    /// <summary>Removes ".name.tmp-HEX" files: atomic writes that a killed process never renamed.</summary>
    private static List<string> RemoveTemporaryFiles(string path)
    {
        var removed = new List<string>();
        foreach (var file in Directory.EnumerateFiles(path, ".*.tmp-*"))
            if (TemporaryName().IsMatch(System.IO.Path.GetFileName(file)))
            {
                File.Delete(file);
                removed.Add(file);
            }
        return removed;
    }

    [GeneratedRegex(@"^\..+\.tmp-[0-9a-f]{32}$")]
    private static partial Regex TemporaryName();

    private sealed record Owner(int Pid, string Host, DateTime Started, string Command)
    {
        public static Owner Current()
        {
            string command = string.Join(' ', Environment.GetCommandLineArgs().Select(a => a.Contains(' ') ? $"\"{a}\"" : a));
            return new Owner(Environment.ProcessId, Environment.MachineName, Process.GetCurrentProcess().StartTime.ToUniversalTime(),
                command.Length > 200 ? command[..200] + "..." : command);
        }
    }
}
