// Replacing a file so that a reader, or a crash, sees either the old content or the new, never a
// mix: the new content goes to a temporary file beside the target, is flushed to disk, then renamed
// over it (a rename within one folder is atomic). A process killed mid-write leaves only the
// temporary file, whose name RunFolder recognises and removes on the next start (docs/runs.md).

namespace IlgpuVit.IO;

/// <summary>Atomic replacement of a file's content.</summary>
public static class AtomicFile
{
    /// <summary>The temporary file a write of <paramref name="target"/> goes through: ".name.tmp-" and 32 hex digits, beside it.</summary>
    public static string TemporaryPath(string target)
    {
        string full = Path.GetFullPath(target);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
    }

    /// <summary>Writes <paramref name="target"/> through <paramref name="write"/>, replacing it atomically.</summary>
    /// <exception cref="IOException">The file could not be written; an existing <paramref name="target"/> is unchanged and no temporary file is left.</exception>
    public static void Write(string target, Action<Stream> write)
    {
        string temp = TemporaryPath(target);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, Path.GetFullPath(target), overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }   // keep the original error
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) to <paramref name="target"/>, replacing it atomically.</summary>
    public static void WriteText(string target, string text) =>
        Write(target, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));
}
