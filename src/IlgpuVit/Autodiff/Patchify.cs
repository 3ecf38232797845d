// Cuts images into non-overlapping patches (im2col of a stride-p, p x p convolution) so the patch
// embedding is one GEMM. Images are inputs, so nothing is differentiated here.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// Patches of <paramref name="images"/> (B, Cin, H, W): (B, (H/p)·(W/p), Cin·p·p), patches row-major,
    /// each patch's values ordered (channel, row, column) like a conv weight (C, Cin, p, p).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The images are not (B, Cin, H, W) with H and W multiples of p.</exception>
    public Variable Patchify(Tensor<float> images, int patch)
    {
        ShapeMismatchException.Require(images.Shape.Rank == 4 && patch >= 1 && images.Shape[2] % patch == 0 && images.Shape[3] % patch == 0,
            "Patchify", $"images have shape {images.Shape}; they need (B, channels, H, W) with H and W multiples of the patch size {patch}.");
        int b = images.Shape[0], channels = images.Shape[1], rows = images.Shape[2] / patch, cols = images.Shape[3] / patch;
        var y = Output(images.Device, false, b, rows * cols, channels * patch * patch);
        Ops.Patchify(images, y.Value, patch);
        return y;
    }
}
