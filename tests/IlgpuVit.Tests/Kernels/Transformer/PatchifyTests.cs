using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class PatchifyTests
{
    /// <summary>im2col from the definition: patches[b, gy * (W/p) + gx, (c * p + py) * p + px].</summary>
    private static double[] Reference(float[] images, int batch, int channels, int height, int width, int p)
    {
        int across = width / p, perImage = height / p * across, length = channels * p * p;
        var patches = new double[images.Length];
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                    {
                        int patch = y / p * across + x / p, inner = (c * p + y % p) * p + x % p;
                        patches[(b * perImage + patch) * length + inner] = images[((b * channels + c) * height + y) * width + x];
                    }
        return patches;
    }

    private static readonly (int B, int C, int H, int W, int P)[] Cases =
        [(1, 1, 1, 1, 1), (2, 3, 32, 32, 4), (3, 3, 28, 21, 7), (1, 2, 31, 62, 31), (2, 3, 224, 224, 16), (5, 1, 6, 4, 2), (128, 3, 32, 32, 4)];

    private static void CheckCases(Device device, IEnumerable<(int B, int C, int H, int W, int P)> cases)
    {
        foreach (var (b, c, h, w, p) in cases)
        {
            var images = TestData.Uniform(b + c + h, b * c * h * w);
            using var ti = device.FromArray(images, b, c, h, w);
            using var tp = device.Zeros(b, h / p * (w / p), c * p * p);
            Ops.Patchify(ti, tp, p);
            Check.Close(tp.ToArray(), Reference(images, b, c, h, w, p), 0, 0, $"({b}, {c}, {h}, {w}) p {p}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Copies_every_pixel_to_its_patch_exactly(string backend) => CheckCases(Backends.Get(backend), Cases);

    [Fact]
    public void Gpu_launch_geometry_matches_reference_on_the_group_simulator() =>
        CheckCases(Backends.GpuSimulator, [(2, 3, 12, 8, 4), (3, 1, 7, 7, 7)]);

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        int b = 3, c = 3, h = 20, w = 15, p = 5, rows = b * (h / p) * (w / p);
        using var ti = device.FromArray(TestData.Uniform(1, b * c * h * w), b, c, h, w);
        using var fast = device.Zeros(b, rows / b, c * p * p);
        using var twin = device.Zeros(b, rows / b, c * p * p);
        Ops.Patchify(ti, fast, p);
        device.Synchronize();
        Ops.PatchifyRowsPortable(ti.View, twin.View, 0, rows, new PatchGeometry(rows, rows, c, h, w, p));
        fast.ToArray().Should().Equal(twin.ToArray());
    }

    [Fact]
    public void Rejects_sizes_that_are_not_multiples_of_the_patch_and_wrong_outputs()
    {
        var device = Backends.Cpu;
        using var images = device.Zeros(2, 3, 32, 30);
        using var patches = device.Zeros(2, 64, 48);
        using var flat = device.Zeros(3, 32, 32);
        ((Action)(() => Ops.Patchify(images, patches, 4))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Patchify: images of shape (2, 3, 32, 30) have H = 32 and W = 30, which must both be multiples of the patch size 4.");
        ((Action)(() => Ops.Patchify(flat, patches, 4))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Patchify: images have shape (3, 32, 32); they need (B, Cin, H, W).");
        ((Action)(() => Ops.Patchify(images, patches, 3))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Patchify: images of shape (2, 3, 32, 30) have H = 32*");
        using var square = device.Zeros(2, 3, 32, 32);
        ((Action)(() => Ops.Patchify(square, patches, 8))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Patchify: patches has shape (2, 64, 48), expected (2, 16, 192).");
        ((Action)(() => Ops.Patchify(square, patches, 0))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("Patchify: the patch size must be at least 1.*");
    }
}
