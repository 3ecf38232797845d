// The preprocessing a user picks for pretrained weights (docs/models.md, "Preprocessing"): a preset, then
// flags that override its parts. augreg and deit resize the short side to floor(size / 0.9) with bicubic
// sampling and centre-crop the model's size, as timm's validate.py (crop_pct 0.9), with mean = std = 0.5
// (AugReg) or ImageNet's mean and std (DeiT); none neither resizes nor normalises (mean 0, std 1): an
// image at the model's size goes in as it is, a larger one is centre-cropped. Interpolation is bicubic
// (Pillow's, bit-exact), the one timm's ViT configurations name.

using IlgpuVit.Data;
using IlgpuVit.Images;

namespace IlgpuVit.Experiments;

/// <summary>A preprocessing preset and the flags that override it.</summary>
/// <param name="Preset">"augreg", "deit" or "none".</param>
/// <param name="Resize">The short side after resizing (0: no resize); null: the preset's.</param>
/// <param name="Crop">The centre crop's side; null: the model's image size.</param>
/// <param name="Interpolation">"bicubic" (the only one implemented); null: bicubic.</param>
/// <param name="Mean">Per-channel mean (R, G, B) of byte / 255; null: the preset's.</param>
/// <param name="Std">Per-channel std; null: the preset's.</param>
public sealed record PreprocessSettings(string Preset = "augreg", int? Resize = null, int? Crop = null, string? Interpolation = null,
    IReadOnlyList<float>? Mean = null, IReadOnlyList<float>? Std = null)
{
    /// <summary>The presets' names.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["augreg", "deit", "none"];

    /// <summary>timm's crop_pct for ViTs: resize the short side to floor(size / 0.9), then centre-crop size.</summary>
    private const double CropFraction = 0.9;

    /// <summary>The options for a model of <paramref name="imageSize"/> pixels.</summary>
    /// <exception cref="ArgumentException">The preset or the interpolation is unknown, a size is out of range, or mean/std are not 3 values
    /// (std positive); the crop must match the model's size.</exception>
    public PreprocessOptions For(int imageSize)
    {
        var (resize, normalization) = Preset switch
        {
            "augreg" => ((int)Math.Floor(imageSize / CropFraction), PreprocessOptions.AugRegNormalization),
            "deit" => ((int)Math.Floor(imageSize / CropFraction), PreprocessOptions.ImageNetNormalization),
            "none" => (0, new Normalization([0f, 0f, 0f], [1f, 1f, 1f])),
            _ => throw new ArgumentException($"Unknown --preprocess '{Preset}'. Known: augreg (resize, crop, mean = std = 0.5), " +
                "deit (resize, crop, ImageNet mean and std), none (no resize, mean 0, std 1)."),
        };
        if (Interpolation is not null and not "bicubic")
            throw new ArgumentException($"Unknown --interpolation '{Interpolation}': bicubic (Pillow's, as timm's ViTs use) is the one implemented.");
        int crop = Crop ?? imageSize;
        if (crop != imageSize)
            throw new ArgumentException($"--crop {crop} differs from the model's image size {imageSize}: the model takes {imageSize}x{imageSize} images.");
        resize = Resize ?? resize;
        if (resize < 0) throw new ArgumentException($"--resize must be at least 0 (0: no resize), got {resize}.");
        if (resize > 0 && resize < crop) throw new ArgumentException($"--resize {resize} is smaller than the crop {crop}: the crop must fit inside.");
        float[] mean = Channels("--mean", Mean) ?? normalization.Mean, std = Channels("--std", Std) ?? normalization.Std;
        if (std.Any(s => !(s > 0))) throw new ArgumentException($"--std must be positive, got {string.Join(",", std)}.");
        return new PreprocessOptions { ResizeTo = resize, Crop = crop, Normalization = new Normalization(mean, std) };
    }

    /// <summary>Three values, "R,G,B", as --mean and --std take them.</summary>
    /// <exception cref="ArgumentException">Not three numbers.</exception>
    public static IReadOnlyList<float> ParseChannels(string option, string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out values[i]))
                throw new ArgumentException($"{option} takes three numbers R,G,B (e.g. 0.485,0.456,0.406), got '{text}'.");
        return Channels(option, values)!;
    }

    private static float[]? Channels(string option, IReadOnlyList<float>? values) =>
        values is null ? null
        : values.Count == 3 ? values.ToArray()
        : throw new ArgumentException($"{option} takes three numbers R,G,B, got {values.Count}.");
}
