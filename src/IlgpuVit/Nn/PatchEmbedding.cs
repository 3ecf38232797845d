// Patch embedding as im2col + GEMM: a conv with kernel = stride = p is a Linear over flattened
// patches. The weight keeps timm's conv shape (C, Cin, p, p) so checkpoints map one to one.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>Images (B, Cin, H, W) to patch tokens (B, P, C); parameters "patch_embed.proj.{weight,bias}".</summary>
public sealed class PatchEmbedding : Module, ITokenEmbedding
{
    /// <summary>A p x p, stride p projection of <paramref name="inChannels"/> channels to <paramref name="channels"/>.</summary>
    public PatchEmbedding(Device device, int inChannels, int patch, int channels, Random random)
    {
        Patch = patch;
        int fanIn = inChannels * patch * patch;
        double bound = 1 / Math.Sqrt(fanIn);     // torch's default conv initialisation
        Weight = Parameter(device, "patch_embed.proj.weight", Init.Uniform(random, (long)channels * fanIn, bound), channels, inChannels, patch, patch);
        Bias = Parameter(device, "patch_embed.proj.bias", Init.Uniform(random, channels, bound), channels);
    }

    /// <summary>Patch side p.</summary>
    public int Patch { get; }

    /// <summary>(C, Cin, p, p).</summary>
    public Variable Weight { get; }

    /// <summary>(C).</summary>
    public Variable Bias { get; }

    /// <summary>Patch tokens (B, P, C) of <paramref name="images"/> (B, Cin, H, W).</summary>
    public Variable Forward(Tape tape, Tensor<float> images) => tape.Linear(tape.Patchify(images, Patch), Weight, Bias);

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() => [Weight, Bias];
}
