// What tests of whole training runs share: skipping where Fashion-MNIST is not installed, and the
// part of a metrics log that must repeat exactly when a run is resumed (steps, adjuster windows and
// evaluations, without their wall-clock seconds).
using System.Text.Json;
using IlgpuVit.Data;

namespace IlgpuVit.Tests.Support;

public static class TrainingRuns
{
    /// <summary>Skips the test unless Fashion-MNIST's test labels are in the default folder.</summary>
    public static void RequireFashionMnist() =>
        Skip.IfNot(File.Exists(Path.Combine(FashionMnist.DefaultFolder, "t10k-labels-idx1-ubyte.gz")) || File.Exists(Path.Combine(FashionMnist.DefaultFolder, "t10k-labels-idx1-ubyte")),
            $"Fashion-MNIST is not installed in {FashionMnist.DefaultFolder} (apt-get install dataset-fashion-mnist)");

    /// <summary>The step, window and eval events of a metrics log, each as its fields but "seconds".</summary>
    public static IEnumerable<string> Events(string metrics) => File.ReadLines(metrics).Select(l => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!)
        .Where(e => e["event"].GetString() is "step" or "window" or "eval")
        .Select(e => string.Join(",", e.Where(p => p.Key != "seconds").Select(p => $"{p.Key}={p.Value.GetRawText()}")));
}
