// Training checkpoints as safetensors (IO's format-level reader and writer): the model's parameters
// under their timm names (so a checkpoint is also a plain weights file), the optimizer's state under
// its own names, and JSON metadata: the model configuration, the training options and the step. The data pipeline's
// random state is a pure function of (seed, epoch, batch) (DataLoader), so seed and step are the
// whole RNG state. Writes go through SafeTensors.Write, which is atomic (temporary file, then
// rename): a crash leaves the previous checkpoint intact. A load checks every tensor's name and shape,
// then (unless allowed) that every value is finite, before it writes anything: a refused load leaves the
// model and the optimizer as they were.

using System.Text.Json;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;

namespace IlgpuVit.Training;

/// <summary>Saves and restores models and training state (CheckpointInfo says what a checkpoint holds).</summary>
public static class TrainingCheckpoint
{
    private const string FormatKey = "format", Format = "ilgpuvit-checkpoint-1";

    /// <summary>
    /// Writes <paramref name="model"/>'s parameters and, when given, <paramref name="optimizer"/>'s state and
    /// <paramref name="options"/> to <paramref name="path"/>, atomically, with the reduction <paramref name="method"/> the model
    /// runs (its current rate included), the rate adjuster's <paramref name="adjusterState"/> and the rest of the
    /// <paramref name="run"/>'s definition (JSON).
    /// </summary>
    public static void Save(string path, VisionTransformer model, Optimizer? optimizer = null, TrainingOptions? options = null,
        string? method = null, string? adjusterState = null, string? run = null)
    {
        var tensors = new List<SafeTensor>();
        foreach (var p in model.Parameters()) tensors.Add(new SafeTensor(p.Name!, p.Shape.Dims.ToArray(), p.Value.ToArray()));
        if (optimizer is not null)
            foreach (var (name, value) in optimizer.State()) tensors.Add(new SafeTensor(name, value.Shape.Dims.ToArray(), value.ToArray()));
        var metadata = new Dictionary<string, string>
        {
            [FormatKey] = Format,
            ["model"] = JsonSerializer.Serialize(model.Config),
            ["step"] = (optimizer?.StepCount ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (options is not null) metadata["training"] = JsonSerializer.Serialize(options);
        if (method is not null) metadata["method"] = method;
        if (adjusterState is not null) metadata["adjuster"] = adjusterState;
        if (run is not null) metadata["run"] = run;
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Reads a checkpoint's metadata.</summary>
    /// <exception cref="SafeTensorsFormatException">The file is not an IlgpuVit checkpoint, or its metadata is malformed.</exception>
    public static CheckpointInfo ReadInfo(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        return ReadInfo(file);
    }

    private static CheckpointInfo ReadInfo(SafeTensorsFile file)
    {
        var m = file.Metadata;
        if (!m.TryGetValue(FormatKey, out var format) || format != Format || !m.TryGetValue("model", out var model))
            throw new SafeTensorsFormatException(file.Path, $"not an IlgpuVit checkpoint (metadata needs {FormatKey}={Format} and a model configuration).");
        try
        {
            var config = JsonSerializer.Deserialize<VitConfig>(model) ?? throw new JsonException("null model configuration");
            var options = m.TryGetValue("training", out var training) ? JsonSerializer.Deserialize<TrainingOptions>(training) : null;
            int step = m.TryGetValue("step", out var s) ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 0;
            return new CheckpointInfo(config.Validate(), options, step, m.GetValueOrDefault("method"), m.GetValueOrDefault("adjuster"),
                m.GetValueOrDefault("run"));
        }
        catch (Exception e) when (e is JsonException or FormatException or OverflowException or ArgumentException)
        {
            throw new SafeTensorsFormatException(file.Path, $"checkpoint metadata is malformed: {e.Message}");
        }
    }

    /// <summary>
    /// Loads a checkpoint's parameters into <paramref name="model"/> and, when given, its state into
    /// <paramref name="optimizer"/> (including the step count). Nothing is written unless every tensor fits and,
    /// without <paramref name="allowNonFinite"/>, every value is finite.
    /// </summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="model">Receives the parameters; its configuration must be the checkpoint's.</param>
    /// <param name="optimizer">Receives the optimizer state, when given.</param>
    /// <param name="allowNonFinite">Load tensors holding NaN or ±Inf too, and list them in <see cref="CheckpointInfo.NonFinite"/>.</param>
    /// <returns>The checkpoint's metadata.</returns>
    /// <exception cref="SafeTensorsFormatException">A tensor is missing or has the wrong shape, or the architecture differs.</exception>
    /// <exception cref="NonFiniteWeightsException">A tensor holds NaN or ±Inf and <paramref name="allowNonFinite"/> is false.</exception>
    public static CheckpointInfo Load(string path, VisionTransformer model, Optimizer? optimizer = null, bool allowNonFinite = false)
    {
        using var file = SafeTensorsFile.Open(path);
        var info = ReadInfo(file);
        if (info.Config != model.Config)
            throw new SafeTensorsFormatException(path, $"the checkpoint holds model {info.Config}, not {model.Config}.");
        var targets = model.Parameters().Select(p => (Name: p.Name!, Value: p.Value)).Concat(optimizer?.State() ?? []).ToList();
        foreach (var (name, into) in targets) CheckFits(file, name, into);
        // A second read of every tensor, so a refusal comes before the first write without holding the file in memory.
        if (!allowNonFinite && NonFiniteTensor.Scan(file, targets.Select(t => t.Name)) is { Count: > 0 } corrupt)
            throw new NonFiniteWeightsException(path, corrupt);
        var nonFinite = new List<NonFiniteTensor>();
        foreach (var (name, into) in targets)
        {
            var values = file.ReadSingles(name);
            if (allowNonFinite && NonFiniteTensor.Find(name, values) is { } tensor) nonFinite.Add(tensor);
            into.CopyFrom(values);
        }
        if (optimizer is not null) optimizer.StepCount = info.Step;
        return info with { NonFinite = nonFinite };
    }

    private static void CheckFits(SafeTensorsFile file, string name, Tensor<float> into)
    {
        if (!file.Tensors.TryGetValue(name, out var t))
            throw new SafeTensorsFormatException(file.Path, $"tensor '{name}' is missing ({NameSuggestions.Describe(name, file.Tensors.Keys)}).");
        if (!t.Shape.AsSpan().SequenceEqual(into.Shape.Dims))
            throw new SafeTensorsFormatException(file.Path, $"tensor '{name}' has shape {t.ShapeText}; the model needs {into.Shape}.");
    }
}
