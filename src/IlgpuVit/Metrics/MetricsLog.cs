// A run's metrics as JSON lines: one object per event (a training step, an evaluation, a rate
// change), flushed as written so a crashed run keeps what it measured and `tail -f` follows it.
// A run resumed from its checkpoint first drops what the log holds beyond the checkpoint's step (the
// steps it will do again) and a line torn by a kill, so the log reads as one uninterrupted run.
// A non-finite number (a diverging loss) is written as null (NonFiniteAsNullConverter).

using System.Text.Json;

namespace IlgpuVit.Metrics;

/// <summary>Appends one JSON object per line to a file.</summary>
public sealed class MetricsLog : IDisposable
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Converters = { NonFiniteAsNullConverter.Instance },
    };
    private readonly StreamWriter _writer;

    /// <summary>Opens <paramref name="path"/> for appending (a resumed run continues its log).</summary>
    public MetricsLog(string path)
    {
        Path = path;
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <summary>Writes <paramref name="record"/> (any serialisable object) as one line.</summary>
    public void Write(object record) => _writer.WriteLine(JsonSerializer.Serialize(record, record.GetType(), Json));

    /// <summary>
    /// Cuts the log at <paramref name="path"/> before its first line that has a "step" beyond <paramref name="step"/>, or that
    /// is not whole JSON (torn by a kill), atomically; a missing log is left missing.
    /// </summary>
    /// <returns>The lines dropped.</returns>
    public static int KeepThroughStep(string path, int step)
    {
        if (!File.Exists(path)) return 0;
        var lines = File.ReadAllLines(path);
        int keep = Array.FindIndex(lines, line => !Within(line, step));
        if (keep < 0) return 0;
        IO.AtomicFile.WriteText(path, string.Concat(lines.Take(keep).Select(l => l + "\n")));
        return lines.Length - keep;
    }

    private static bool Within(string line, int step)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            return json.RootElement.ValueKind == JsonValueKind.Object &&
                   (!json.RootElement.TryGetProperty("step", out var s) || s.ValueKind != JsonValueKind.Number || s.GetInt64() <= step);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _writer.Dispose();
}
