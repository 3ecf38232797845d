// A run's metrics as JSON lines: one object per event (a training step, an evaluation, a rate
// change), flushed as written so a crashed run keeps what it measured and `tail -f` follows it.
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

    /// <summary>Closes the file.</summary>
    public void Dispose() => _writer.Dispose();
}
