// Patchify: im2col for the patch-embedding convolution of a ViT (kernel = stride = patch p, no
// padding), so the convolution becomes one GEMM:
//   patches[b, gy * (W/p) + gx, (cin * p + py) * p + px] = images[b, cin, gy * p + py, gx * p + px].
// The inner index (cin, py, px) is the memory order of a conv weight [C, Cin, p, p], so that weight
// reshaped to (C, Cin*p*p) multiplies the patches with TransposeB (as timm's PatchEmbed conv).
// The input images need no gradient, so there is no backward.
// Geometry: one kernel index covers output rows (patches) of about 4096 elements in all on the
// CPU, copied as runs of p contiguous floats; one patch per index on GPUs.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Cuts <paramref name="images"/> (B, Cin, H, W) into non-overlapping p x p patches, written to
    /// <paramref name="patches"/> (B, (H/p)(W/p), Cin p p): patches row-major over (H/p, W/p), each
    /// patch's elements in (cin, py, px) order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="patch"/> is not positive.</exception>
    /// <exception cref="ShapeMismatchException">images is not rank 4, H or W is not a multiple of p, or patches has the wrong shape.</exception>
    public static void Patchify(Tensor<float> images, Tensor<float> patches, int patch)
    {
        const string op = "Patchify";
        var device = OnOneDevice(op, images, patches);
        if (patch < 1) throw new ArgumentOutOfRangeException(nameof(patch), patch, $"{op}: the patch size must be at least 1.");
        ShapeMismatchException.Require(images.Shape.Rank == 4, op, $"images have shape {images.Shape}; they need (B, Cin, H, W).");
        int batch = images.Shape[0], channels = images.Shape[1], height = images.Shape[2], width = images.Shape[3];
        ShapeMismatchException.Require(height % patch == 0 && width % patch == 0, op,
            $"images of shape {images.Shape} have H = {height} and W = {width}, which must both be multiples of the patch size {patch}.");
        int perImage = height / patch * (width / patch), patchLength = channels * patch * patch;
        ShapeMismatchException.ThrowIfDifferent(op, "patches", new Shape(batch, perImage, patchLength), patches.Shape);
        CheckedLength(op, images);
        int rows = batch * perImage;
        int rowsPerIndex = device.UsesCpuFastPath ? Math.Max(1, ElementwiseChunk / patchLength) : 1;
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, PatchGeometry>(PatchifyKernel, group));
        launch(device.Accelerator.DefaultStream, (rows + rowsPerIndex - 1) / rowsPerIndex, images.View, patches.View,
            new PatchGeometry(rows, rowsPerIndex, channels, height, width, patch));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PatchifyKernel(Index1D index, ArrayView<float> images, ArrayView<float> patches, PatchGeometry g)
    {
        int first = index * g.RowsPerIndex;
        PatchifyRows(images, patches, first, Math.Min(g.RowsPerIndex, g.Rows - first), g);
    }

    // Output rows [first, first + count): each is Cin * p runs of p contiguous source floats.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(PatchifyRowsPortable))]
    internal static unsafe void PatchifyRows(ArrayView<float> images, ArrayView<float> patches, int first, int count, PatchGeometry g)
    {
        int p = g.Patch, across = g.Width / p, perImage = g.Height / p * across;
        long runBytes = p * sizeof(float);
        float* dst = FastMath.Address(patches, (long)first * g.Channels * p * p);
        for (int row = first; row < first + count; row++)
        {
            int b = row / perImage, cell = row % perImage;
            int y0 = cell / across * p, x0 = cell % across * p;
            for (int c = 0; c < g.Channels; c++)
                for (int py = 0; py < p; py++, dst += p)
                {
                    float* src = FastMath.Address(images, (((long)b * g.Channels + c) * g.Height + y0 + py) * g.Width + x0);
                    Buffer.MemoryCopy(src, dst, runBytes, runBytes);
                }
        }
    }

    internal static void PatchifyRowsPortable(ArrayView<float> images, ArrayView<float> patches, int first, int count, PatchGeometry g)
    {
        int p = g.Patch, across = g.Width / p, perImage = g.Height / p * across;
        int dst = first * g.Channels * p * p;
        for (int row = first; row < first + count; row++)
        {
            int b = row / perImage, cell = row % perImage;
            int y0 = cell / across * p, x0 = cell % across * p;
            for (int c = 0; c < g.Channels; c++)
                for (int py = 0; py < p; py++)
                {
                    int src = ((b * g.Channels + c) * g.Height + y0 + py) * g.Width + x0;
                    for (int px = 0; px < p; px++) patches[dst++] = images[src + px];
                }
        }
    }
}

/// <summary>Sizes of one Patchify launch, passed to the kernel by value: output rows (patches) and the image geometry.</summary>
internal readonly record struct PatchGeometry(int Rows, int RowsPerIndex, int Channels, int Height, int Width, int Patch);
