// Bilinear resizing as torch's F.interpolate(mode='bilinear', align_corners=False): known values of a
// 2x upsample, constants and linear ramps preserved, odd sizes against a float64 reference of the
// sampling rule; and the loader feeding 32-px images to a 64-px model through it.
using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Data;

public class ResizeTests
{
    [Fact]
    public void Upsampling_two_pixels_matches_torch()
    {
        // torch: F.interpolate(tensor([[[[0., 1.]]]]), size=(1, 4), mode='bilinear', align_corners=False) -> 0, .25, .75, 1
        var output = new float[16];
        Resize.Bilinear([0f, 1f, 0f, 1f], 1, 2, 2, output, 4);
        output.AsSpan(0, 4).ToArray().Should().Equal(0f, 0.25f, 0.75f, 1f);
        output.AsSpan(12, 4).ToArray().Should().Equal(0f, 0.25f, 0.75f, 1f);
    }

    [Theory]
    [InlineData(1, 7, 7, 5)]
    [InlineData(3, 32, 32, 224)]
    [InlineData(2, 31, 33, 17)]
    [InlineData(1, 1, 1, 3)]
    public void Matches_the_float64_sampling_rule(int channels, int height, int width, int size)
    {
        var source = TestData.Uniform(height + width, channels * height * width);
        var output = new float[channels * size * size];
        Resize.Bilinear(source, channels, height, width, output, size);
        var expected = new double[output.Length];
        static (int, int, double) Tap(int o, int input, int output)
        {
            double p = Math.Max((o + 0.5) * input / output - 0.5, 0);
            int lo = Math.Min((int)Math.Floor(p), input - 1);
            return (lo, Math.Min(lo + 1, input - 1), p - lo);
        }
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < size; i++)
                for (int j = 0; j < size; j++)
                {
                    var (y0, y1, fy) = Tap(i, height, size);
                    var (x0, x1, fx) = Tap(j, width, size);
                    double At(int y, int x) => source[(c * height + y) * width + x];
                    expected[(c * size + i) * size + j] = (At(y0, x0) * (1 - fx) + At(y0, x1) * fx) * (1 - fy) + (At(y1, x0) * (1 - fx) + At(y1, x1) * fx) * fy;
                }
        Check.Close(output, expected, 1e-5, 1e-6, $"resize ({channels}, {height}, {width}) -> {size}");
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var act = () => Resize.Bilinear(new float[5], 1, 2, 2, new float[4], 2);
        act.Should().Throw<ArgumentException>().WithMessage("Resize: source holds 5 values for (1, 2, 2)*");
    }

    [Fact]
    public void The_trainer_feeds_small_images_to_a_larger_model()
    {
        var config = new VitConfig("resize-test", 16, 4, 3, 16, 1, 2, 32, 3);
        var data = Training.TinyRun.Data();       // 8 x 8 images
        using var model = new VisionTransformer(config, Support.Backends.Cpu, seed: 1);
        using var trainer = new Trainer(model, data, Training.TinyRun.Options() with { Epochs = 1 }, Normalization.Identity(3));
        trainer.RunEpoch().Should().OnlyContain(s => float.IsFinite(s.Loss));
        Evaluation.Evaluate(model, data, Normalization.Identity(3)).Images.Should().Be(data.Count);
        var batch = new DataLoader(data, new LoaderOptions { BatchSize = 4, ResizeTo = 16 }).Epoch(0).First();
        batch.Images.Length.Should().Be(4 * 3 * 16 * 16);
    }
}
