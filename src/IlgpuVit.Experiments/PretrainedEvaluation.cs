// `ilgpuvit eval --weights`: pretrained timm/torchvision weights evaluated on an ImageNet-layout folder,
// as timm's validate.py does (resize the short side to floor(size / 0.9) bicubic, centre crop, normalise
// with the weights' mean and std): top-1 and top-5 accuracy per reduction spec, GMACs per image counted
// from the token counts that ran (docs/flops.md), and latency from Metrics.Latency.Compare on the first batch
// with every spec and "none" interleaved in one call (so load drift shifts all alike). The folder is
// decoded once: each batch runs every spec in turn (Training.Evaluation.Compare, scored on the host for
// top-5). Corrupt images are skipped and counted (ImageFolderLoader).
// Labels are the folder's class indices (sorted sub-folder names, as torchvision's ImageFolder), which is
// timm's ImageNet order when the class folders are the synset ids (n01440764 ...), or a class map's
// (a subset of the classes). The architecture and the preprocessing are resolved as for `predict`
// (IO.ModelConfigs, PreprocessSettings; docs/models.md).

using IlgpuVit.Data;
using IlgpuVit.Images;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

namespace IlgpuVit.Experiments;

/// <summary>What `eval --weights` evaluates (pretrained weights on an image folder).</summary>
/// <param name="Weights">A safetensors weights file (timm or torchvision names).</param>
/// <param name="Arch">A ModelRegistry name or a JSON configuration; null: the configuration in the file's metadata. The class count
/// comes from the file's head (or the folder, with a new head).</param>
/// <param name="Data">An ImageNet-layout folder: one sub-folder of images per class.</param>
/// <param name="Specs">Reduction specs, one row each ("none" for the unpruned model).</param>
/// <param name="Batch">Images per forward (also the latency batch).</param>
/// <param name="Limit">Evaluate only the first N readable images in folder order (null: all).</param>
/// <param name="Preprocess">The preset and its overrides (null: augreg).</param>
/// <param name="AllowNewHead">Import a head of another class count as a new, untrained head instead of failing.</param>
/// <param name="LatencyRuns">Timed forwards per spec.</param>
/// <param name="Device">A Device.Open spec.</param>
/// <param name="AllowNonFinite">Load weights holding NaN or ±Inf (listed in the import report) instead of refusing them.</param>
/// <param name="ClassMap">Folder name to class index (ImageFolder.ReadClassMap, IndexNamedFolders); null: sorted folder positions.</param>
public sealed record PretrainedEvalSettings(string Weights, string? Arch, string Data, IReadOnlyList<string> Specs, int Batch = 64, int? Limit = null,
    PreprocessSettings? Preprocess = null, bool AllowNewHead = false, int LatencyRuns = 20, string Device = "auto", bool AllowNonFinite = false,
    IReadOnlyDictionary<string, int>? ClassMap = null);

/// <summary>One spec's results.</summary>
/// <param name="Method">The reduction spec.</param>
/// <param name="Top1">Top-1 accuracy in [0, 1].</param>
/// <param name="Top5">Top-5 accuracy in [0, 1].</param>
/// <param name="Loss">Mean cross-entropy.</param>
/// <param name="GmacsPerImage">Multiply-accumulates per image, in billions.</param>
/// <param name="FlopsChangePercent">Change against the unpruned model, in percent.</param>
/// <param name="TransformerGmacsPerImage">The transformer part (all but a hybrid's CNN backbone), in billions.</param>
/// <param name="LatencyMs">Median milliseconds per forward of the latency batch.</param>
/// <param name="LatencyP10Ms">Its 10th percentile.</param>
/// <param name="LatencyP90Ms">Its 90th percentile.</param>
/// <param name="LatencyChangePercent">Median change against "none" timed in the same call, in percent.</param>
/// <param name="TokensAfterLayer">Tokens each block handed on.</param>
public sealed record PretrainedEvalRow(string Method, double Top1, double Top5, double Loss, double GmacsPerImage, double FlopsChangePercent,
    double TransformerGmacsPerImage, double LatencyMs, double LatencyP10Ms, double LatencyP90Ms, double LatencyChangePercent, IReadOnlyList<int> TokensAfterLayer)
{
    /// <summary>Whether the accuracy or the loss is NaN or infinite: the model's outputs were.</summary>
    public bool NonFinite => !double.IsFinite(Top1) || !double.IsFinite(Top5) || !double.IsFinite(Loss);
}

/// <summary>Evaluates pretrained weights on an image folder under several reduction specs (`eval --weights`).</summary>
public static class PretrainedEvaluation
{
    private const int LatencyWarmup = 2;

    /// <summary>Evaluates as <paramref name="settings"/> say; <paramref name="log"/> hears the import report before the evaluation starts.</summary>
    /// <exception cref="ArgumentException">A setting is invalid or the folder does not fit the model (the CLI checks the numbers first, naming its options).</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The weights file does not exist.</exception>
    /// <exception cref="WeightImportException">The weights do not fit the architecture.</exception>
    /// <exception cref="NonFiniteWeightsException">The weights hold NaN or ±Inf and <see cref="PretrainedEvalSettings.AllowNonFinite"/> is false.</exception>
    public static PretrainedEvalReport Run(PretrainedEvalSettings settings, Action<ImportReport>? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Limit ?? 1, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.LatencyRuns, 1);
        if (settings.Specs.Count == 0) throw new ArgumentException("No reduction spec to evaluate.");
        using var weights = SafeTensorsFile.Open(settings.Weights);
        var architecture = ModelConfigs.Resolve(settings.Arch, weights);
        var preprocess = (settings.Preprocess ?? new PreprocessSettings()).For(architecture.ImageSize);
        foreach (var spec in settings.Specs) ReductionMethod.Parse(spec, architecture.Depth);     // a typo fails before any work
        if (architecture.InChannels != 3)
            throw new ArgumentException($"Model '{architecture.Name}' takes {architecture.InChannels}-channel images; image folders are decoded to RGB.");
        var folder = ImageFolder.Scan(settings.Data, settings.ClassMap);
        var config = architecture with { Classes = settings.AllowNewHead ? folder.Classes : ModelConfigs.HeadClasses(weights) ?? architecture.Classes };
        if (folder.Classes > config.Classes)
            throw new ArgumentException(settings.ClassMap is null
                ? $"{folder.Root} has {folder.Classes} class folders but the head of {settings.Weights} predicts {config.Classes} classes " +
                  "(a subset of the classes needs a class map: --class-map or --class-index-folders)."
                : $"The class map gives index {folder.Classes - 1} but the head of {settings.Weights} predicts {config.Classes} classes (0..{config.Classes - 1}).");

        using var device = Runtime.Device.Open(settings.Device);
        using var model = new VisionTransformer(config, device, seed: 0);
        var import = WeightImporter.Import(weights, model, new WeightImportOptions { AllowNewHead = settings.AllowNewHead, AllowNonFinite = settings.AllowNonFinite });
        log?.Invoke(import);

        var loader = new ImageFolderLoader(folder, new ImageFolderLoaderOptions { BatchSize = settings.Batch, Preprocess = preprocess });
        var variants = settings.Specs.Select(spec =>
        {
            ReductionMethod.Apply(model, spec);
            return model.Reducers;
        }).ToArray();
        Batch? latencyBatch = null;
        string? lastPath = null;
        // The first --limit readable images; the first batch (so cut) is also the latency batch.
        IEnumerable<Batch> Used()
        {
            int seen = 0;
            foreach (var batch in loader.Batches())
            {
                if (settings.Limit is int limit) batch.Count = Math.Min(batch.Count, limit - seen);
                seen += batch.Count;
                latencyBatch ??= batch.Clone();
                lastPath = batch.Paths[batch.Count - 1];
                yield return batch;
                if (seen >= settings.Limit) yield break;
            }
        }
        var results = Evaluation.Compare(model, Used(), variants, topFive: true);
        var failures = Skipped(folder, loader.Failures, settings.Limit is null ? null : lastPath);
        if (latencyBatch is null)
            throw new ArgumentException($"No image of {folder.Root} could be read ({failures.Count} skipped; the first: {failures.FirstOrDefault()}).");

        using var latencyImages = Tensor<float>.FromArray(device, latencyBatch.ImageSpan, latencyBatch.Count, latencyBatch.Channels,
            latencyBatch.Height, latencyBatch.Width);
        // "none" once, first: the baseline of every latency change (a "none" row reads the same measurement).
        string[] latencySpecs = ["none", .. settings.Specs.Where(spec => spec != "none").Distinct()];
        var timed = Latency.Compare(model, latencyImages, latencySpecs, settings.LatencyRuns, LatencyWarmup);
        double baseMacs = Flops.Macs(config), baseMs = timed[0].MedianMs;
        var rows = settings.Specs.Select((spec, s) =>
        {
            var t = timed[Array.IndexOf(latencySpecs, spec)];
            var r = results[s];
            return new PretrainedEvalRow(spec, r.Accuracy, r.Top5!.Value, r.Loss, r.MacsPerImage / 1e9, 100 * (r.MacsPerImage / baseMacs - 1),
                (r.MacsPerImage - Flops.BackboneMacs(config)) / 1e9,
                t.MedianMs, t.P10Ms, t.P90Ms, 100 * (t.MedianMs / baseMs - 1), r.TokensAfterLayer!.ToArray());
        }).ToArray();
        return new PretrainedEvalReport(settings.Weights, config.Name, config.Classes, folder.Root, device.Info.Spec, results[0].Images, failures,
            latencyBatch.Count, settings.LatencyRuns, import, rows);
    }

    /// <summary>The failures up to the last image used (the loader decodes ahead of a --limit that stops it).</summary>
    private static IReadOnlyList<ImageLoadFailure> Skipped(ImageFolder folder, IReadOnlyList<ImageLoadFailure> failures, string? lastUsed)
    {
        if (lastUsed is null) return failures;
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < folder.Count; i++) position[folder.Samples[i].Path] = i;
        int last = position[lastUsed];
        return failures.Where(f => position[f.Path] < last).ToArray();
    }
}
