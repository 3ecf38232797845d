// A Vision Transformer's shape (docs/models.md): image and patch size, channels, width, depth, heads,
// MLP width, classes. The registry names timm's configurations and the project's small ones.

namespace IlgpuVit.Nn;

/// <summary>The hyper-parameters that fix a ViT's architecture.</summary>
/// <param name="Name">Registry name, e.g. "vit_small_patch16_224".</param>
/// <param name="ImageSize">Square input side in pixels.</param>
/// <param name="PatchSize">Patch side; must divide the image size.</param>
/// <param name="InChannels">Image channels (1 grey, 3 RGB).</param>
/// <param name="EmbedDim">Token width C.</param>
/// <param name="Depth">Number of blocks L.</param>
/// <param name="Heads">Attention heads H (C divisible by H).</param>
/// <param name="MlpDim">MLP hidden width (4C in every timm ViT).</param>
/// <param name="Classes">Classifier outputs.</param>
/// <param name="LayerNormEps">LayerNorm epsilon (1e-6 for timm and torchvision ViTs).</param>
/// <param name="GlobalPool">What the head sees, as timm's global_pool: "token" (the CLS token, after the final norm
/// "norm") or "avg" (the mean of the patch tokens, then the norm "fc_norm").</param>
/// <param name="Backbone">A hybrid's ResNetV2 bottlenecks per stage, e.g. "2,2,2,2" (R26); empty for a plain ViT.</param>
/// <param name="Stem">How a plain ViT embeds patches: "patch" (one p x p, stride p projection, as timm) or "conv" (a
/// <see cref="ConvStem"/> of stride-2 3x3 convolutions and a 1x1 projection).</param>
public sealed record VitConfig(string Name, int ImageSize, int PatchSize, int InChannels, int EmbedDim, int Depth, int Heads,
    int MlpDim, int Classes, float LayerNormEps = 1e-6f, string GlobalPool = "token", string Backbone = "", string Stem = "patch")
{
    /// <summary>
    /// <see cref="Backbone"/> as numbers (empty for the plain patch embedding); with a backbone, <see cref="PatchSize"/>
    /// is its total stride (32).
    /// </summary>
    public IReadOnlyList<int> BackboneLayers => Backbone.Length == 0 ? [] : Backbone.Split(',').Select(int.Parse).ToArray();

    /// <summary>Patches per image, (ImageSize / PatchSize)².</summary>
    public int Patches => (ImageSize / PatchSize) * (ImageSize / PatchSize);

    /// <summary>Tokens entering the first block: patches plus CLS.</summary>
    public int Tokens => Patches + 1;

    /// <summary>Per-head width C / H.</summary>
    public int HeadDim => EmbedDim / Heads;

    /// <summary>Checks the configuration is consistent.</summary>
    /// <exception cref="ArgumentException">A size does not fit (names which one).</exception>
    public VitConfig Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new ArgumentException($"Model '{Name}': {what}."); }
        Require(ImageSize > 0 && PatchSize > 0 && ImageSize % PatchSize == 0, $"patch size {PatchSize} must divide image size {ImageSize}");
        Require(InChannels > 0, $"input channels must be positive, got {InChannels}");
        Require(EmbedDim > 0 && Heads > 0 && EmbedDim % Heads == 0, $"embed dim {EmbedDim} must split into {Heads} heads");
        Require(Depth > 0 && MlpDim > 0 && Classes > 0, $"depth {Depth}, MLP width {MlpDim} and classes {Classes} must be positive");
        Require(GlobalPool is "token" or "avg", $"global pool must be 'token' or 'avg', got '{GlobalPool}'");
        Require(Backbone.Length == 0 || (Backbone.Split(',') is { Length: 4 } stages && stages.All(l => int.TryParse(l, out int n) && n >= 1)
            && PatchSize == 32), $"a backbone is four positive block counts such as '2,2,2,2' with patch size 32 (its stride), got '{Backbone}' and {PatchSize}");
        Require(Stem is "patch" or "conv", $"stem must be 'patch' or 'conv', got '{Stem}'");
        Require(Stem == "patch" || Backbone.Length == 0, "a hybrid's backbone is its stem: give 'stem' only for a plain ViT");
        if (Stem == "conv")
        {
            try { ConvStem.Widths(PatchSize, EmbedDim); }
            catch (ArgumentException e) { Require(false, e.Message.TrimEnd('.')); }
        }
        return this;
    }
}

/// <summary>The named model configurations.</summary>
public static class ModelRegistry
{
    private static readonly VitConfig[] All =
    [
        // timm, 224 px, patch 16, ImageNet-1k heads (docs/models.md).
        new("vit_tiny_patch16_224", 224, 16, 3, 192, 12, 3, 768, 1000),
        new("vit_small_patch16_224", 224, 16, 3, 384, 12, 6, 1536, 1000),
        new("vit_base_patch16_224", 224, 16, 3, 768, 12, 12, 3072, 1000),
        new("vit_large_patch16_224", 224, 16, 3, 1024, 24, 16, 4096, 1000),
        // Hybrid ViT-S (docs/models.md): ResNetV2-26 backbone (stride 32: 7x7 = 49 tokens + CLS), then a ViT-S trunk.
        new("vit_small_r26_s32_224", 224, 32, 3, 384, 12, 6, 1536, 1000, Backbone: "2,2,2,2"),
        // The project's small models. 28 px grey (Fashion-MNIST), patch 4: 49 patches + CLS.
        new("vit_micro_patch4_28", 28, 4, 1, 64, 6, 4, 256, 10),     // the libtorch peer configuration of docs/backends.md (305K parameters)
        new("vit_micro_patch4_gap_28", 28, 4, 1, 64, 6, 4, 256, 10, GlobalPool: "avg"),
        new("vit_micro_conv4_28", 28, 4, 1, 64, 6, 4, 256, 10, Stem: "conv"),     // a convolutional stem in place of the patch projection
        new("vit_micro_conv4_gap_28", 28, 4, 1, 64, 6, 4, 256, 10, GlobalPool: "avg", Stem: "conv"),     // and the patch tokens averaged for the head
        new("vit_mini_patch4_28", 28, 4, 1, 128, 6, 4, 512, 10),
        // 28 px grey, patch 2: 196 patches + CLS = 197 tokens, ViT-B/16's and ViT-L/16's token count at 224 px, at vit_micro's
        // width (docs/models.md): 5.4x its MACs per image, the model of the inference-only claims (issue 17).
        new("vit_micro_patch2_28", 28, 2, 1, 64, 6, 4, 256, 10),
        // 32 px RGB (CIFAR-10), patch 4: 64 patches + CLS.
        new("vit_micro_patch4_32", 32, 4, 3, 64, 6, 4, 256, 10),
        new("vit_mini_patch4_32", 32, 4, 3, 128, 6, 4, 512, 10),
    ];

    /// <summary>Every registered name.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(c => c.Name).ToArray();

    /// <summary>The configuration named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No model has that name; the message lists them.</exception>
    public static VitConfig Get(string name) =>
        All.FirstOrDefault(c => c.Name == name)
        ?? throw new ArgumentException($"Unknown model '{name}'. Known models: {string.Join(", ", Names)}.");
}
