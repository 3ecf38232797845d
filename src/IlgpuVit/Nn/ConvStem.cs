// A convolutional stem in place of the patch projection (docs/models.md, "Convolutional stem"): for patch
// size p = 2^n, n stride-2 3x3 convolutions (padding 1, no bias) each followed by GroupNorm and ReLU,
// widths C/2^n, ..., C/2, then a 1x1 convolution with bias to the token width C over the feature map's
// pixels taken as tokens. Early convolutions make small ViTs train faster and better for a few percent
// more MACs (Xiao et al., "Early Convolutions Help Transformers See Better", 2021). Names:
// patch_embed.stem.{i}.conv.weight, patch_embed.stem.{i}.norm.{weight,bias}, patch_embed.proj.{weight,bias}.

using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>Stride-2 3x3 conv + GroupNorm + ReLU stages, then a 1x1 projection: images to tokens.</summary>
public sealed class ConvStem : Module, ITokenEmbedding
{
    /// <summary>GroupNorm groups of every stage (each stage's width must be a multiple).</summary>
    public const int Groups = 8;

    private readonly Variable[] _convs;
    private readonly GroupNormAct[] _norms;

    /// <summary>A stem of stride <paramref name="patch"/> (a power of two) from <paramref name="inChannels"/> to <paramref name="channels"/>.</summary>
    /// <exception cref="ArgumentException">The patch is not a power of two of at least 2, or a stage width is not a multiple of <see cref="Groups"/>.</exception>
    public ConvStem(Device device, int inChannels, int patch, int channels, Random random)
    {
        var widths = Widths(patch, channels);
        _convs = new Variable[widths.Count];
        _norms = new GroupNormAct[widths.Count];
        int inputs = inChannels;
        for (int i = 0; i < widths.Count; i++)
        {
            // Kaiming normal (fan_out, ReLU), as timm's ResNets initialise a conv that a norm and a ReLU follow.
            _convs[i] = Parameter(device, $"patch_embed.stem.{i}.conv.weight",
                Init.Normal(random, (long)widths[i] * inputs * 9, Math.Sqrt(2.0 / (widths[i] * 9))), widths[i], inputs, 3, 3);
            _norms[i] = new GroupNormAct(device, $"patch_embed.stem.{i}.norm", widths[i], relu: true, groups: Groups);
            inputs = widths[i];
        }
        double bound = 1 / Math.Sqrt(inputs);     // torch's default conv initialisation
        Weight = Parameter(device, "patch_embed.proj.weight", Init.Uniform(random, (long)channels * inputs, bound), channels, inputs, 1, 1);
        Bias = Parameter(device, "patch_embed.proj.bias", Init.Uniform(random, channels, bound), channels);
    }

    /// <summary>The 1x1 projection's weight (C, C/2, 1, 1).</summary>
    public Variable Weight { get; }

    /// <summary>Its bias (C).</summary>
    public Variable Bias { get; }

    /// <summary>
    /// The stage widths for stride <paramref name="patch"/> and token width <paramref name="channels"/>: C/2^n, ..., C/2.
    /// </summary>
    /// <exception cref="ArgumentException">The patch is not a power of two of at least 2, or a width is not a multiple of <see cref="Groups"/>.</exception>
    public static IReadOnlyList<int> Widths(int patch, int channels)
    {
        if (patch < 2 || (patch & (patch - 1)) != 0)
            throw new ArgumentException($"A convolutional stem halves the image per stage: its patch size must be a power of two of at least 2, got {patch}.");
        int stages = System.Numerics.BitOperations.Log2((uint)patch);
        // The narrowest stage, C / 2^n, must be a whole multiple of the groups; the wider ones then are too.
        if (channels <= 0 || channels % (Groups << stages) != 0)
            throw new ArgumentException($"A convolutional stem of patch {patch} needs a token width C that is a multiple of {Groups << stages}, " +
                                        $"so its stage widths C/2^k (k = 1..{stages}) split into {Groups} GroupNorm groups; got C = {channels}.");
        return Enumerable.Range(0, stages).Select(i => channels >> (stages - i)).ToArray();
    }

    /// <inheritdoc/>
    public Variable Forward(Tape tape, Tensor<float> images)
    {
        var x = new Variable(images);
        for (int i = 0; i < _convs.Length; i++)
            x = _norms[i].Forward(tape, tape.Conv2d(x, _convs[i], null, stride: 2, Padding2d.Symmetric(1)));
        return HybridEmbedding.ProjectPixels(tape, x, Weight, Bias);
    }

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() =>
        [.. _convs.Zip(_norms).SelectMany(s => new[] { s.First }.Concat(s.Second.Parameters())), Weight, Bias];

    /// <summary>MACs per image of the stem and its projection for <paramref name="imageSize"/>-pixel square images (docs/flops.md).</summary>
    public static double Macs(int inChannels, int patch, int channels, int imageSize)
    {
        double macs = 0;
        int size = imageSize, inputs = inChannels;
        foreach (int width in Widths(patch, channels))
        {
            size = (size - 1) / 2 + 1;                                     // 3x3, stride 2, padding 1
            macs += (double)size * size * width * inputs * 9;
            inputs = width;
        }
        return macs + (double)size * size * channels * inputs;             // projection 1x1
    }
}
