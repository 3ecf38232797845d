// The evaluation transform of a pretrained ViT, as timm's transforms_imagenet_eval builds it:
// resize the short side to floor(224 / crop_pct) with bicubic sampling, centre-crop 224, scale to [0, 1]
// and normalise per channel. timm's ViT configurations use crop_pct 0.9, hence 248 and 224
// (docs/models.md); the mean and std come from the weights: AugReg 0.5 / 0.5, DeiT ImageNet's.
// ResizeTo 0 leaves the image's size as it is (only the centre crop), so an image already at the
// model's size goes in unchanged (docs/models.md, "Preprocessing").
using IlgpuVit.Data;

namespace IlgpuVit.Images;

/// <summary>Resize, crop and normalisation of an image for a model, fixed by the weights' configuration.</summary>
public sealed record PreprocessOptions
{
    /// <summary>Length the short side is resized to (keeping the aspect ratio); at least <see cref="Crop"/>; 0: not resized.</summary>
    public int ResizeTo { get; init; } = 248;

    /// <summary>Side of the square centre crop: the model's image size.</summary>
    public int Crop { get; init; } = 224;

    /// <summary>Per-channel mean and std (R, G, B) applied to byte / 255.</summary>
    public Normalization Normalization { get; init; } = AugRegNormalization;

    /// <summary>Mean 0.5 and std 0.5 per channel: timm's AugReg ViT weights (outputs in [-1, 1]).</summary>
    public static Normalization AugRegNormalization => new([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);

    /// <summary>ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225): DeiT weights and torchvision's ViTs.</summary>
    public static Normalization ImageNetNormalization => new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Resize 248, crop 224, mean = std = 0.5: timm's AugReg ViT evaluation.</summary>
    public static PreprocessOptions AugReg => new();

    /// <summary>Resize 248, crop 224, ImageNet mean and std: DeiT weights as timm configures them.</summary>
    public static PreprocessOptions DeiT => new() { Normalization = ImageNetNormalization };
}
