// What WeightImporter may do when a weights file and a model disagree. The defaults follow timm's
// load: strict about names and shapes, but the position embedding is resampled when only the patch
// grid differs. Everything else that would change the model's meaning (a new head, dropping DeiT's
// distillation token) must be asked for, and is reported.
namespace IlgpuVit.IO;

/// <summary>How a weights file names its tensors.</summary>
public enum WeightLayout
{
    /// <summary>Torchvision when the file has torchvision's ViT names (class_token, conv_proj, encoder.layers...), timm otherwise.</summary>
    Auto,

    /// <summary>timm's state-dict keys (AugReg and DeiT checkpoints, this project's own checkpoints).</summary>
    Timm,

    /// <summary>torchvision's VisionTransformer keys, mapped by <see cref="TorchvisionNames"/>.</summary>
    Torchvision,
}

/// <summary>Options of <see cref="WeightImporter.Import(string, Nn.VisionTransformer, WeightImportOptions?)"/>.</summary>
public sealed record WeightImportOptions
{
    /// <summary>The file's naming; <see cref="WeightLayout.Auto"/> detects it.</summary>
    public WeightLayout Layout { get; init; } = WeightLayout.Auto;

    /// <summary>
    /// Throw <see cref="WeightImportException"/>, before any parameter is written, when a parameter is missing or
    /// mis-shaped or a tensor is unexpected. When false, the import loads what fits and returns the problems in the report.
    /// </summary>
    public bool Strict { get; init; } = true;

    /// <summary>
    /// Fine-tuning with another class count: when the file's head.* differs in shape from the model's (or is absent),
    /// skip it, keep the model's freshly initialised head, and say so in the report.
    /// </summary>
    public bool AllowNewHead { get; init; }

    /// <summary>Resample pos_embed bicubically (timm's way) when the file's patch grid differs from the model's.</summary>
    public bool ResamplePositionEmbedding { get; init; } = true;

    /// <summary>The file's patch grid, for a non-square one; null infers a square grid from pos_embed's row count.</summary>
    public PatchGrid? SourceGrid { get; init; }

    /// <summary>
    /// A distilled DeiT (dist_token, head_dist.*, a second prefix row in pos_embed): drop the distillation token, its
    /// position row and its head, so the model predicts from the CLS head alone. When false, these are reported as
    /// unexpected (and pos_embed as mis-shaped).
    /// </summary>
    public bool DropDistillation { get; init; }

    /// <summary>
    /// Load tensors holding NaN or ±Inf too, and list them in <see cref="ImportReport.NonFinite"/>. When false, such a
    /// file is refused with <see cref="NonFiniteWeightsException"/> before any parameter is written.
    /// </summary>
    public bool AllowNonFinite { get; init; }
}
