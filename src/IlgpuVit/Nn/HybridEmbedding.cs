// The token embedding of timm's hybrid ViTs (vit_small_r26_s32_224, docs/models.md "Hybrid ViT-S"): a
// ResNetV2 backbone (the "same" stem, then stages of bottlenecks with widths 256, 512, 1024, 2048,
// the first stage at stride 1 and the others at stride 2: 32 in all), and a 1x1 conv to the embed
// width as a Linear over the feature map's pixels taken as tokens (B, H·W, C). Names are timm's:
// patch_embed.backbone.stem.*, patch_embed.backbone.stages.{s}.blocks.{b}.*, patch_embed.proj.*.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>ResNetV2 backbone + 1x1 projection: images to tokens.</summary>
public sealed class HybridEmbedding : Module, ITokenEmbedding
{
    /// <summary>Output widths of the four stages.</summary>
    public static readonly int[] StageWidths = [256, 512, 1024, 2048];

    /// <summary>A backbone with <paramref name="layers"/> bottlenecks per stage, projected to <paramref name="channels"/>.</summary>
    /// <exception cref="ArgumentException">The layers are not four positive counts.</exception>
    public HybridEmbedding(Device device, int inChannels, IReadOnlyList<int> layers, int channels, Random random)
    {
        if (layers.Count != StageWidths.Length || layers.Any(l => l < 1))
            throw new ArgumentException($"A ResNetV2 backbone has {StageWidths.Length} stages of at least one block each, got [{string.Join(", ", layers)}].");
        Stem = new ResNetStem(device, "patch_embed.backbone.stem", random, inChannels);
        var blocks = new List<Bottleneck>();
        int inputs = 64;
        for (int s = 0; s < layers.Count; s++)
            for (int b = 0; b < layers[s]; b++)
            {
                blocks.Add(new Bottleneck(device, $"patch_embed.backbone.stages.{s}.blocks.{b}", inputs, StageWidths[s],
                    stride: b == 0 && s > 0 ? 2 : 1, downsample: b == 0, random));
                inputs = StageWidths[s];
            }
        Blocks = blocks;
        double bound = 1 / Math.Sqrt(inputs);     // torch's default conv initialisation
        Weight = Parameter(device, "patch_embed.proj.weight", Init.Uniform(random, (long)channels * inputs, bound), channels, inputs, 1, 1);
        Bias = Parameter(device, "patch_embed.proj.bias", Init.Uniform(random, channels, bound), channels);
    }

    /// <summary>The stem.</summary>
    public ResNetStem Stem { get; }

    /// <summary>The bottlenecks of all stages, in order.</summary>
    public IReadOnlyList<Bottleneck> Blocks { get; }

    /// <summary>The 1x1 projection's weight (C, 2048, 1, 1).</summary>
    public Variable Weight { get; }

    /// <summary>Its bias.</summary>
    public Variable Bias { get; }

    /// <inheritdoc/>
    public Variable Forward(Tape tape, Tensor<float> images)
    {
        var x = Stem.Forward(tape, new Variable(images));
        foreach (var block in Blocks) x = block.Forward(tape, x);
        return ProjectPixels(tape, x, Weight, Bias);
    }

    /// <summary>A 1x1 convolution of feature map <paramref name="x"/> (B, Cin, H, W) to tokens (B, H·W, C): a Linear over its pixels.</summary>
    internal static Variable ProjectPixels(Tape tape, Variable x, Variable weight, Variable bias)
    {
        int b = x.Shape[0], c = x.Shape[1], pixels = x.Shape[2] * x.Shape[3];
        var tokens = tape.TransposeLast2(tape.Reshape(x, b, c, pixels));      // (B, H·W, Cin)
        return tape.Linear(tokens, weight, bias);
    }

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() =>
        [.. Stem.Parameters(), .. Blocks.SelectMany(b => b.Parameters()), Weight, Bias];

    /// <summary>MACs per image of the backbone and projection for <paramref name="imageSize"/>-pixel square images.</summary>
    public static double Macs(int inChannels, IReadOnlyList<int> layers, int channels, int imageSize)
    {
        static int Out(int size, int stride) => (size + stride - 1) / stride;     // SAME padding
        int size = Out(imageSize, 2);
        double macs = (double)size * size * 64 * inChannels * 49;                 // 7x7 stem conv
        size = Out(size, 2);                                                      // max pool
        int inputs = 64;
        for (int s = 0; s < layers.Count; s++)
            for (int b = 0; b < layers[s]; b++)
            {
                int stride = b == 0 && s > 0 ? 2 : 1, outputs = StageWidths[s], mid = outputs / 4, outSize = Out(size, stride);
                macs += (double)size * size * mid * inputs;                       // conv1 1x1
                macs += (double)outSize * outSize * mid * mid * 9;                // conv2 3x3 (stride)
                macs += (double)outSize * outSize * outputs * mid;                // conv3 1x1
                if (b == 0) macs += (double)outSize * outSize * outputs * inputs; // downsample 1x1
                (size, inputs) = (outSize, outputs);
            }
        return macs + (double)size * size * channels * inputs;                    // projection 1x1
    }
}
