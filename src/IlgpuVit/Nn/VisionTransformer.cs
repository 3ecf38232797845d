// The Vision Transformer (Dosovitskiy et al. 2021) as timm builds it: patch embedding, class token
// first, learned position embedding over CLS and patches, pre-norm blocks, final LayerNorm, linear
// head on the CLS token. Parameter names are timm's state-dict keys (docs/models.md).

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>A ViT classifier.</summary>
/// <example>
/// <code>
/// using var device = Device.Open("cpu");
/// using var model = new VisionTransformer(ModelRegistry.Get("vit_micro_patch4_28"), device, seed: 0);
/// using var tape = Tape.NoGrad();
/// var logits = model.Forward(tape, images);            // images (B, 1, 28, 28)
/// </code>
/// </example>
public sealed class VisionTransformer : Module
{
    private readonly Dictionary<int, Tensor<int>> _clsIndex = [];

    /// <summary>A model of configuration <paramref name="config"/>, initialised as timm does from <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">The configuration is inconsistent.</exception>
    public VisionTransformer(VitConfig config, Device device, int seed = 0)
    {
        Config = config.Validate();
        Device = device;
        var random = new Random(seed);
        int c = config.EmbedDim;
        PatchEmbed = config.BackboneLayers.Count > 0
            ? new HybridEmbedding(device, config.InChannels, config.BackboneLayers, c, random)
            : config.Stem == "conv" ? new ConvStem(device, config.InChannels, config.PatchSize, c, random)
            : new PatchEmbedding(device, config.InChannels, config.PatchSize, c, random);
        ClassToken = Parameter(device, "cls_token", Init.Normal(random, c, 1e-6), 1, 1, c);
        PositionEmbedding = Parameter(device, "pos_embed", Init.TruncatedNormal(random, (long)config.Tokens * c, 0.02), 1, config.Tokens, c);
        Blocks = Enumerable.Range(0, config.Depth)
            .Select(i => new Block(device, i, c, config.Heads, config.MlpDim, config.LayerNormEps, random)).ToArray();
        Norm = new LayerNorm(device, config.GlobalPool == "avg" ? "fc_norm" : "norm", c, config.LayerNormEps);
        Head = new Linear(device, "head", c, config.Classes, random);
    }

    /// <summary>The architecture.</summary>
    public VitConfig Config { get; }

    /// <summary>Where the parameters live.</summary>
    public Device Device { get; }

    /// <summary>Patch embedding.</summary>
    public ITokenEmbedding PatchEmbed { get; }

    /// <summary>(1, 1, C).</summary>
    public Variable ClassToken { get; }

    /// <summary>(1, P + 1, C).</summary>
    public Variable PositionEmbedding { get; }

    /// <summary>The transformer blocks.</summary>
    public IReadOnlyList<Block> Blocks { get; }

    /// <summary>
    /// Each block's token reducer (null: none), in block order: reading takes a snapshot, setting assigns them block by
    /// block, so several reduction variants of one model can be swapped in and out (and the original restored).
    /// </summary>
    /// <exception cref="ArgumentException">Set with a count other than the model's depth.</exception>
    public IReadOnlyList<ITokenReducer?> Reducers
    {
        get => Blocks.Select(b => b.Reducer).ToArray();
        set
        {
            if (value.Count != Blocks.Count)
                throw new ArgumentException($"{value.Count} reducers given for a model of {Blocks.Count} blocks.", nameof(value));
            for (int l = 0; l < value.Count; l++) Blocks[l].Reducer = value[l];
        }
    }

    /// <summary>Final norm ("norm" on the CLS token, or "fc_norm" on the pooled tokens).</summary>
    public LayerNorm Norm { get; }

    /// <summary>Classifier on the CLS token.</summary>
    public Linear Head { get; }

    /// <summary>
    /// Class logits (B, classes) of <paramref name="images"/> (B, Cin, H, W), recorded on <paramref name="tape"/>.
    /// Pass <paramref name="state"/> to read what the blocks' reducers did (token counts per layer, sizes).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The images do not match the configuration.</exception>
    public Variable Forward(Tape tape, Tensor<float> images, TokenState? state = null)
    {
        var cfg = Config;
        ShapeMismatchException.Require(images.Shape.Rank == 4 && images.Shape[1] == cfg.InChannels && images.Shape[2] == cfg.ImageSize
            && images.Shape[3] == cfg.ImageSize, $"{cfg.Name} forward",
            $"images have shape {images.Shape}; the model takes (B, {cfg.InChannels}, {cfg.ImageSize}, {cfg.ImageSize}).");
        int batch = images.Shape[0];
        var x = tape.PrependClassToken(PatchEmbed.Forward(tape, images), ClassToken);
        x = tape.Add(x, PositionEmbedding);
        state ??= new TokenState();
        foreach (var block in Blocks) x = block.Forward(tape, x, state);
        x = cfg.GlobalPool == "avg"
            ? Norm.Forward(tape, tape.MeanTokens(x))                        // timm: mean of the patch tokens, then fc_norm
            : Norm.Forward(tape, tape.GatherRows(x, ClassIndex(batch)));    // LayerNorm is per token: only CLS's is needed
        return tape.Reshape(Head.Forward(tape, x), batch, cfg.Classes);
    }

    /// <summary>Number of trainable values.</summary>
    public long ParameterCount => Parameters().Sum(p => p.Shape.Length);

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters()
    {
        foreach (var p in PatchEmbed.Parameters()) yield return p;
        yield return ClassToken;
        yield return PositionEmbedding;
        foreach (var block in Blocks)
            foreach (var p in block.Parameters()) yield return p;
        foreach (var p in Norm.Parameters()) yield return p;
        foreach (var p in Head.Parameters()) yield return p;
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        foreach (var index in _clsIndex.Values) index.Dispose();
        _clsIndex.Clear();
        base.Dispose();
    }

    /// <summary>Index (B, 1) of token 0 in every image (all zeros), cached per batch size.</summary>
    private Tensor<int> ClassIndex(int batch)
    {
        if (!_clsIndex.TryGetValue(batch, out var index))
            _clsIndex[batch] = index = Tensor<int>.Zeros(Device, batch, 1);
        return index;
    }
}
