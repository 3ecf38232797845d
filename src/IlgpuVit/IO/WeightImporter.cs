// Loads pretrained ViT weights (timm: AugReg, DeiT, this project's checkpoints; torchvision, through
// TorchvisionNames) into a VisionTransformer and reports what fitted, as timm's load path does
// (timm/models/vision_transformer.py checkpoint_filter_fn, then load_state_dict):
//   1. map every file key to a model parameter name;
//   2. plan each parameter from the header alone: load as is, adapt (resample pos_embed, drop a
//      distilled DeiT's second prefix row), or report it missing / mis-shaped; a new head when asked;
//   3. strict mode throws here, before any parameter is written, so a failed import leaves the model untouched;
//   4. unless non-finite weights are allowed, read every tensor to be loaded and refuse NaN/Inf, also
//      before any parameter is written (a corrupt file leaves the model untouched too);
//   5. read and write one tensor at a time: the file is never held in memory, and F16/BF16/F64
//      tensors are converted to F32 as they are read (SafeTensorsFile.ReadSingles).
using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.IO;

/// <summary>Imports timm- or torchvision-layout weights into a <see cref="VisionTransformer"/>.</summary>
/// <example>
/// <code>
/// using var model = new VisionTransformer(ModelRegistry.Get("vit_small_patch16_224") with { Classes = 10 }, device);
/// var report = WeightImporter.Import("vit_small_patch16_224.augreg_in21k_ft_in1k.safetensors", model,
///     new WeightImportOptions { AllowNewHead = true });
/// Console.WriteLine(report);
/// </code>
/// </example>
public static class WeightImporter
{
    private const string PositionEmbedding = "pos_embed", HeadPrefix = "head.", DistillationToken = "dist_token", DistillationHead = "head_dist.";

    /// <summary>Imports the weights file <paramref name="path"/> into <paramref name="model"/>.</summary>
    /// <returns>What was loaded, converted, adapted, skipped, and what did not fit.</returns>
    /// <exception cref="WeightImportException">Strict mode, and a parameter is missing or mis-shaped or a tensor unexpected; the model is unchanged.</exception>
    /// <exception cref="NonFiniteWeightsException">A tensor to load holds NaN or ±Inf and <see cref="WeightImportOptions.AllowNonFinite"/> is false; the model is unchanged.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is not a valid safetensors file.</exception>
    public static ImportReport Import(string path, VisionTransformer model, WeightImportOptions? options = null)
    {
        using var file = SafeTensorsFile.Open(path);
        return Import(file, model, options);
    }

    /// <summary>Key prefixes of the optimizer state a training checkpoint holds beside the weights (AdamW, Sgd).</summary>
    private static readonly string[] OptimizerStatePrefixes = ["adamw.", "sgd."];

    /// <summary>Imports the weights of the open <paramref name="file"/> into <paramref name="model"/>.</summary>
    /// <inheritdoc cref="Import(string, VisionTransformer, WeightImportOptions?)"/>
    public static ImportReport Import(SafeTensorsFile file, VisionTransformer model, WeightImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(model);
        options ??= new WeightImportOptions();
        var layout = options.Layout == WeightLayout.Auto ? Detect(file) : options.Layout;
        var parameters = model.Parameters().ToList();
        var parameterNames = parameters.Select(p => p.Name!).ToHashSet(StringComparer.Ordinal);
        bool distilled = layout == WeightLayout.Timm && file.Tensors.ContainsKey(DistillationToken);
        bool dropDistillation = distilled && options.DropDistillation;

        // 1. File keys to model names.
        var keyOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        var skipped = new List<SkippedKey>();
        var notes = new List<string>();
        foreach (var key in file.Tensors.Keys.Order(StringComparer.Ordinal))
        {
            if (dropDistillation && (key == DistillationToken || key.StartsWith(DistillationHead, StringComparison.Ordinal)))
            {
                skipped.Add(new SkippedKey(key, "distillation token dropped"));
                continue;
            }
            // A training checkpoint of this project (an experiment's `init`) also holds its optimizer's state: not weights.
            if (OptimizerStatePrefixes.Any(prefix => key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                skipped.Add(new SkippedKey(key, "optimizer state of a training checkpoint"));
                continue;
            }
            string? name = layout == WeightLayout.Torchvision ? TorchvisionNames.ToTimm(key) : key;
            // A second key for one parameter (torchvision's mlp.0 and mlp.linear_1 both) is unexpected.
            if (name is null || !parameterNames.Contains(name) || !keyOf.TryAdd(name, key)) unexpected.Add(key);
        }
        if (dropDistillation)
            notes.Add("Distilled DeiT: dist_token, its pos_embed row and head_dist.* dropped; the model predicts from the CLS head alone (DeiT averages both heads).");

        // 2. Plan every parameter from the header.
        var plan = parameters.Select(p => PlanParameter(file, model.Config, p, keyOf, options, distilled, notes)).ToList();
        if (options.AllowNewHead) ReplaceHeadIfItDiffers(plan, model.Config, file, keyOf, skipped, notes);

        var report = new ImportReport(file.Path, layout,
            Loaded: plan.Where(s => s.Loads).Select(s => s.Parameter.Name!).ToList(),
            Missing: plan.Where(s => s.Key is null && !s.NewHead).Select(s => s.Parameter.Name!).ToList(),
            Unexpected: unexpected,
            Mismatched: plan.Where(s => s.Mismatch is not null).Select(s => s.Mismatch!).ToList(),
            Skipped: skipped,
            Converted: plan.Where(s => s.Loads && file.Tensors[s.Key!].DType != SafeTensorDType.F32)
                .Select(s => new ConvertedKey(s.Key!, file.Tensors[s.Key!].DType)).ToList(),
            Notes: notes);
        // 3. Strict: refuse before writing anything.
        if (options.Strict && !report.IsComplete) throw new WeightImportException(report, model.Config.Name);

        // 4. Non-finite values: refuse before writing anything.
        var loads = plan.Where(s => s.Loads).ToList();
        if (!options.AllowNonFinite && NonFiniteTensor.Scan(file, loads.Select(s => s.Key!)) is { Count: > 0 } corrupt)
            throw new NonFiniteWeightsException(file.Path, corrupt);

        // 5. One tensor at a time, through one buffer the size of the largest.
        var nonFinite = new List<NonFiniteTensor>();
        var buffer = new float[loads.Select(s => file.Tensors[s.Key!].ElementCount).DefaultIfEmpty(0).Max()];
        foreach (var step in loads)
        {
            var values = buffer.AsSpan(0, (int)file.Tensors[step.Key!].ElementCount);
            file.ReadSingles(step.Key!, values);
            if (options.AllowNonFinite && NonFiniteTensor.Find(step.Key!, values) is { } tensor) nonFinite.Add(tensor);
            step.Parameter.Value.CopyFrom(step.Adapt is null ? values : step.Adapt(values));
        }
        return report with { NonFinite = nonFinite };
    }

    /// <summary>torchvision's ViT names (class_token, conv_proj, encoder.layers...) mean torchvision; anything else timm.</summary>
    private static WeightLayout Detect(SafeTensorsFile file) =>
        file.Tensors.Keys.Any(k => k == "class_token" || k.StartsWith("conv_proj.", StringComparison.Ordinal)
                                   || k.StartsWith("encoder.layers.", StringComparison.Ordinal))
            ? WeightLayout.Torchvision : WeightLayout.Timm;

    /// <summary>What to do for one parameter.</summary>
    /// <param name="Parameter">The model parameter.</param>
    /// <param name="Key">Its file key; null when the file has none.</param>
    /// <param name="Mismatch">Set when the file's tensor does not fit.</param>
    /// <param name="Adapt">Turns the file's values into the parameter's (pos_embed); null copies them as they are.</param>
    /// <param name="NewHead">A head left at its initialisation on purpose.</param>
    private sealed record Step(Variable Parameter, string? Key, ShapeMismatch? Mismatch = null, Func<ReadOnlySpan<float>, float[]>? Adapt = null, bool NewHead = false)
    {
        public bool Loads => Key is not null && Mismatch is null && !NewHead;
    }

    private static Step PlanParameter(SafeTensorsFile file, VitConfig config, Variable parameter, Dictionary<string, string> keyOf,
        WeightImportOptions options, bool distilled, List<string> notes)
    {
        string name = parameter.Name!;
        if (!keyOf.TryGetValue(name, out var key)) return new Step(parameter, null);
        var info = file.Tensors[key];
        int[] expected = parameter.Shape.Dims.ToArray();
        if (!info.DType.IsFloat())
            return new Step(parameter, key, new ShapeMismatch(name, key, expected, info.Shape, $"dtype {info.DType} is not a float type"));
        if (name == PositionEmbedding)
            return PlanPositionEmbedding(parameter, key, info, config, options, distilled, notes);
        return info.Shape.AsSpan().SequenceEqual(expected)
            ? new Step(parameter, key)
            : new Step(parameter, key, new ShapeMismatch(name, key, expected, info.Shape));
    }

    /// <summary>
    /// pos_embed [1, prefix + grid, C]: the model has one prefix row (CLS) and a square grid of ImageSize / PatchSize; the
    /// file may have a second prefix row (distilled DeiT) and another grid (another image size).
    /// </summary>
    private static Step PlanPositionEmbedding(Variable parameter, string key, SafeTensorInfo info, VitConfig config,
        WeightImportOptions options, bool distilled, List<string> notes)
    {
        int[] expected = parameter.Shape.Dims.ToArray();
        Step Mismatch(string? reason) => new(parameter, key, new ShapeMismatch(parameter.Name!, key, expected, info.Shape, reason));

        int channels = config.EmbedDim, prefix = distilled ? 2 : 1;
        if (info.Shape.Length != 3 || info.Shape[0] != 1 || info.Shape[2] != channels || info.Shape[1] <= prefix)
            return Mismatch(null);
        if (distilled && !options.DropDistillation)
            return Mismatch("a distilled DeiT's pos_embed has 2 prefix rows (CLS, distillation): set DropDistillation to drop the second");
        int gridRows = info.Shape[1] - prefix;
        var target = PatchGrid.Square(config.ImageSize / config.PatchSize);
        int side = (int)Math.Round(Math.Sqrt(gridRows));
        var source = options.SourceGrid ?? PatchGrid.Square(side);
        if (source.Count != gridRows)
            return Mismatch(options.SourceGrid is null
                ? $"{gridRows} grid rows are not a square grid: set SourceGrid"
                : $"SourceGrid {source} has {source.Count} patches, the file {gridRows}");
        if (source != target && !options.ResamplePositionEmbedding)
            return Mismatch($"the file's grid is {source}, the model's {target}: set ResamplePositionEmbedding");

        if (source != target)
            notes.Add($"{key} resampled from a {source} to a {target} patch grid (bicubic, as timm's resample_abs_pos_embed).");
        if (prefix == 1 && source == target) return new Step(parameter, key);
        return new Step(parameter, key, Adapt: values =>
        {
            if (prefix == 2)
            {
                // Rows: CLS, distillation, grid. Keep CLS and the grid.
                var withoutDistillation = new float[values.Length - channels];
                values[..channels].CopyTo(withoutDistillation);
                values[(2 * channels)..].CopyTo(withoutDistillation.AsSpan(channels));
                values = withoutDistillation;
            }
            return source == target ? values.ToArray() : PositionEmbeddingResampler.Resample(values, channels, 1, source, target);
        });
    }

    /// <summary>
    /// With <see cref="WeightImportOptions.AllowNewHead"/>: when any head.* parameter is missing or differs in shape, the
    /// whole head stays at its initialisation (loading a bias of 1000 classes into a head of 10 would be meaningless).
    /// </summary>
    private static void ReplaceHeadIfItDiffers(List<Step> plan, VitConfig config, SafeTensorsFile file, Dictionary<string, string> keyOf,
        List<SkippedKey> skipped, List<string> notes)
    {
        bool IsHead(Step s) => s.Parameter.Name!.StartsWith(HeadPrefix, StringComparison.Ordinal);
        if (!plan.Any(s => IsHead(s) && !s.Loads)) return;
        string fileHead = keyOf.TryGetValue(HeadPrefix + "weight", out var weightKey) ? $"the file's head has shape {file.Tensors[weightKey].ShapeText}" : "the file has no head";
        for (int i = 0; i < plan.Count; i++)
        {
            if (!IsHead(plan[i])) continue;
            if (plan[i].Key is string key) skipped.Add(new SkippedKey(key, $"new head: {fileHead}"));
            plan[i] = new Step(plan[i].Parameter, plan[i].Key, NewHead: true);
        }
        notes.Add($"New head: head.* kept at its initialisation for {config.Classes} classes ({fileHead}).");
    }
}
