// `ilgpuvit predict`: the top classes of image files under pretrained weights or a training checkpoint
// (docs/models.md, "Prediction"). The architecture comes from --arch (a registry name or a JSON
// configuration) or the weights' metadata (IO.ModelConfigs); class names from the weights' metadata
// ("class_names", a JSON array) or a labels file: one name per line, a JSON array, or a JSON object from
// index to a name or to [id, name] (imagenet_class_index.json); a checkpoint of Fashion-MNIST or CIFAR-10
// names its data set's classes. Every image is read and checked before the model loads, so a bad file
// fails at once naming itself. Probabilities are the softmax of the logits in float64.

using System.Text.Json;
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Images;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

namespace IlgpuVit.Experiments;

/// <summary>What `predict` runs.</summary>
/// <param name="Images">Image files (JPEG or PNG).</param>
/// <param name="Weights">Pretrained weights (safetensors); exclusive with <paramref name="Checkpoint"/>.</param>
/// <param name="Checkpoint">A training checkpoint.</param>
/// <param name="Arch">With weights: a registry name or a JSON configuration; null: the configuration in the weights' metadata.</param>
/// <param name="Method">A reduction spec ("none" for the unpruned model).</param>
/// <param name="Labels">A labels file; null: the names the weights carry, if any.</param>
/// <param name="Preprocess">With weights: the preprocessing (null: augreg).</param>
/// <param name="Top">Classes per image.</param>
/// <param name="Device">A Device.Open spec.</param>
/// <param name="AllowNonFinite">Load weights holding NaN or ±Inf instead of refusing them.</param>
public sealed record PredictSettings(IReadOnlyList<string> Images, string? Weights = null, string? Checkpoint = null, string? Arch = null,
    string Method = "none", string? Labels = null, PreprocessSettings? Preprocess = null, int Top = 5, string Device = "auto", bool AllowNonFinite = false);

/// <summary>One class and its probability.</summary>
/// <param name="Index">The class index (the head's output).</param>
/// <param name="Name">Its name, or null when no names are known.</param>
/// <param name="Probability">Softmax probability in [0, 1].</param>
public sealed record ClassProbability(int Index, string? Name, double Probability);

/// <summary>The top classes of one image.</summary>
/// <param name="Path">The image file.</param>
/// <param name="Top">The most probable classes, most probable first.</param>
public sealed record ImagePrediction(string Path, IReadOnlyList<ClassProbability> Top);

/// <summary>What `predict` found.</summary>
/// <param name="Model">The configuration's name.</param>
/// <param name="Classes">Head outputs.</param>
/// <param name="Method">The reduction spec.</param>
/// <param name="Device">The accelerator.</param>
/// <param name="Images">One prediction per image, in the order given.</param>
public sealed record PredictionReport(string Model, int Classes, string Method, string Device, IReadOnlyList<ImagePrediction> Images);

/// <summary>Top-k prediction of image files (`ilgpuvit predict`).</summary>
public static class Prediction
{
    /// <summary>The safetensors metadata key of the class names (a JSON array of strings, index order).</summary>
    public const string ClassNamesKey = "class_names";

    /// <summary>Predicts as <paramref name="settings"/> say.</summary>
    /// <exception cref="ArgumentException">The settings are inconsistent, the labels do not match the head's class count, or the
    /// configuration cannot be resolved.</exception>
    /// <exception cref="FileNotFoundException">An image, the weights, the checkpoint or the labels file does not exist.</exception>
    /// <exception cref="DatasetFormatException">An image cannot be decoded, or the labels file is not one.</exception>
    /// <exception cref="WeightImportException">The weights do not fit the architecture.</exception>
    /// <exception cref="NonFiniteWeightsException">The weights hold NaN or ±Inf and AllowNonFinite is false.</exception>
    public static PredictionReport Run(PredictSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Top, 1);
        if ((settings.Weights is null) == (settings.Checkpoint is null))
            throw new ArgumentException("Give pretrained weights or a training checkpoint (one of them).");
        if (settings.Images.Count == 0) throw new ArgumentException("Give at least one image file.");
        foreach (var image in settings.Images)
            if (!File.Exists(image))
                throw new FileNotFoundException(Directory.Exists(image) ? $"Image '{image}' is a folder; give image files." : $"Image '{image}' does not exist.", image);
        IReadOnlyList<string>? labels = settings.Labels is null ? null : ReadLabels(settings.Labels);

        VitConfig config;
        IReadOnlyList<string>? names;
        PreprocessOptions preprocess;
        Normalization? grey = null;
        SafeTensorsFile? weights = null;
        try
        {
            if (settings.Weights is not null)
            {
                weights = SafeTensorsFile.Open(settings.Weights);
                config = ModelConfigs.Resolve(settings.Arch, weights);
                config = config with { Classes = ModelConfigs.HeadClasses(weights) ?? config.Classes };
                if (config.InChannels != 3)
                    throw new ArgumentException($"Model '{config.Name}' takes {config.InChannels}-channel images; pretrained weights take RGB images here.");
                names = labels ?? StoredNames(weights);
                preprocess = (settings.Preprocess ?? new PreprocessSettings()).For(config.ImageSize);
            }
            else
            {
                if (settings.Arch is not null) throw new ArgumentException("A checkpoint carries its configuration: --arch goes with --weights.");
                var info = TrainingCheckpoint.ReadInfo(settings.Checkpoint!);
                config = info.Config;
                var data = DataSetOf(info.Run);
                var (dataNormalization, dataNames) = data switch
                {
                    "cifar10" => (Cifar10.Normalization, Cifar10.ClassNames),
                    "fashion-mnist" => (FashionMnist.Normalization, FashionMnist.ClassNames),
                    _ => throw new ArgumentException($"{settings.Checkpoint} does not record the data set it was trained on, so its normalisation is unknown: " +
                        "predict with --weights FILE (a checkpoint is also a weights file) and --preprocess, --mean, --std."),
                };
                if (dataNormalization.Mean.Length != config.InChannels)
                    throw new ArgumentException($"{settings.Checkpoint} was trained on {data} ({dataNormalization.Mean.Length}-channel images) but its model takes {config.InChannels} channels.");
                names = labels ?? dataNames;
                // Images scaled to [0, 1] here, then normalised as the checkpoint's data set was (grey for one channel).
                var unit = new Normalization([0f, 0f, 0f], [1f, 1f, 1f]);
                preprocess = new PreprocessOptions { ResizeTo = config.ImageSize, Crop = config.ImageSize, Normalization = config.InChannels == 3 ? dataNormalization : unit };
                if (config.InChannels == 1) grey = dataNormalization;
            }
            if (names is not null && names.Count != config.Classes)
                throw new ArgumentException($"{(settings.Labels ?? settings.Weights ?? settings.Checkpoint)} names {names.Count} classes but the model's head predicts {config.Classes}.");
            ReductionMethod.Parse(settings.Method, config.Depth);      // a typo fails before the images are read

            var inputs = ReadImages(settings.Images, preprocess, config.ImageSize, grey);
            using var device = Runtime.Device.Open(settings.Device);
            using var model = new VisionTransformer(config, device, seed: 0);
            if (weights is not null) WeightImporter.Import(weights, model, new WeightImportOptions { AllowNonFinite = settings.AllowNonFinite });
            else TrainingCheckpoint.Load(settings.Checkpoint!, model, allowNonFinite: settings.AllowNonFinite);
            ReductionMethod.Apply(model, settings.Method);
            var logits = Logits(model, inputs, settings.Images.Count);
            var predictions = settings.Images.Select((path, i) =>
                new ImagePrediction(path, TopClasses(logits.AsSpan(i * config.Classes, config.Classes), settings.Top, names))).ToArray();
            return new PredictionReport(config.Name, config.Classes, settings.Method, device.Info.Spec, predictions);
        }
        finally
        {
            weights?.Dispose();
        }
    }

    /// <summary>Class names from a labels file: one per line (blank lines skipped), a JSON array of strings, or a JSON object from index to a name
    /// or to [id, name].</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DatasetFormatException">It is none of these (empty, or JSON of another shape).</exception>
    public static IReadOnlyList<string> ReadLabels(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Labels file '{path}' does not exist.", path);
        string text = File.ReadAllText(path);
        string trimmed = text.TrimStart();
        if (trimmed.StartsWith('[') || trimmed.StartsWith('{'))
        {
            try
            {
                using var json = JsonDocument.Parse(text);
                var root = json.RootElement;
                if (root.ValueKind == JsonValueKind.Array && root.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                    return root.EnumerateArray().Select(e => e.GetString()!).ToArray() is { Length: > 0 } names ? names
                        : throw new DatasetFormatException(path, "is an empty JSON array: a labels file names every class.");
                if (root.ValueKind == JsonValueKind.Object)
                {
                    var entries = root.EnumerateObject().Select(p => (Index: int.TryParse(p.Name, out int i) ? i : -1, Name: p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.Array when p.Value.GetArrayLength() > 0 && p.Value[p.Value.GetArrayLength() - 1].ValueKind == JsonValueKind.String =>
                            p.Value[p.Value.GetArrayLength() - 1].GetString(),
                        _ => null,
                    })).ToArray();
                    if (entries.Length > 0 && entries.All(e => e.Name is not null) && entries.Select(e => e.Index).Order().SequenceEqual(Enumerable.Range(0, entries.Length)))
                        return entries.OrderBy(e => e.Index).Select(e => e.Name!).ToArray();
                }
            }
            catch (JsonException e)
            {
                throw new DatasetFormatException(path, $"is not valid JSON ({e.Message}); a labels file is one name per line, a JSON array of names, or a JSON object from index to name.");
            }
            throw new DatasetFormatException(path, "is JSON but not a labels file: give an array of names, or an object from every index 0..N-1 to a name or to [id, name].");
        }
        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (lines.Length == 0) throw new DatasetFormatException(path, "is empty: a labels file names one class per line.");
        if (text.Contains('\0')) throw new DatasetFormatException(path, "is a binary file, not a labels file (one class name per line).");
        return lines;
    }

    /// <summary>The class names stored in the weights' metadata, or null.</summary>
    private static IReadOnlyList<string>? StoredNames(SafeTensorsFile weights)
    {
        if (!weights.Metadata.TryGetValue(ClassNamesKey, out var json)) return null;
        try
        {
            return JsonSerializer.Deserialize<string[]>(json);
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(weights.Path, $"metadata \"{ClassNamesKey}\" is not a JSON array of names ({e.Message}).");
        }
    }

    /// <summary>The checkpoint's data set name from its run record, or null.</summary>
    private static string? DataSetOf(string? run)
    {
        if (run is null) return null;
        try
        {
            using var json = JsonDocument.Parse(run);
            return json.RootElement.TryGetProperty("Data", out var data) && data.ValueKind == JsonValueKind.String ? data.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The model inputs, (N, C, S, S): every image decoded and preprocessed; grey (one channel) when <paramref name="grey"/> is given.</summary>
    private static float[] ReadImages(IReadOnlyList<string> paths, PreprocessOptions options, int size, Normalization? grey)
    {
        var preprocessor = new ImagePreprocessor(options);
        int plane = size * size, channels = grey is null ? 3 : 1;
        var inputs = new float[paths.Count * channels * plane];
        var rgb = new float[3 * plane];
        for (int i = 0; i < paths.Count; i++)
        {
            preprocessor.Preprocess(paths[i], rgb);
            if (grey is null)
            {
                rgb.CopyTo(inputs, i * 3 * plane);
                continue;
            }
            // ITU-R 601 luma, as Pillow's convert("L"), then the data set's normalisation.
            for (int p = 0; p < plane; p++)
                inputs[i * plane + p] = ((0.299f * rgb[p] + 0.587f * rgb[plane + p] + 0.114f * rgb[2 * plane + p]) - grey.Mean[0]) / grey.Std[0];
        }
        return inputs;
    }

    /// <summary>Logits (N, classes), in batches.</summary>
    private static float[] Logits(VisionTransformer model, float[] inputs, int count)
    {
        const int batch = 32;
        var cfg = model.Config;
        int per = cfg.InChannels * cfg.ImageSize * cfg.ImageSize;
        var logits = new float[count * cfg.Classes];
        for (int start = 0; start < count; start += batch)
        {
            int n = Math.Min(batch, count - start);
            using var images = Tensor<float>.FromArray(model.Device, inputs.AsSpan(start * per, n * per).ToArray(), n, cfg.InChannels, cfg.ImageSize, cfg.ImageSize);
            using var tape = Tape.NoGrad();
            var output = model.Forward(tape, images);
            output.Value.ToArray().CopyTo(logits, start * cfg.Classes);
        }
        return logits;
    }

    /// <summary>The <paramref name="k"/> most probable classes of one row of logits (softmax in float64), ties to the lower index.</summary>
    internal static ClassProbability[] TopClasses(ReadOnlySpan<float> logits, int k, IReadOnlyList<string>? names)
    {
        double max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        var p = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += p[i] = Math.Exp(logits[i] - max);
        return Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).Take(k)
            .Select(i => new ClassProbability(i, names?[i], p[i] / sum)).ToArray();
    }
}
