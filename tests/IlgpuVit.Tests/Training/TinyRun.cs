// A tiny model and synthetic data set for training-loop tests: 8x8 RGB images, patch 4, width 8,
// one block, 3 classes, 64 images in batches of 16 (4 steps an epoch). Pixels carry a class
// signal (brighter red for class 1, green for class 2) so the loss can fall.
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public static class TinyRun
{
    public static readonly VitConfig Config = new("tiny-test", 8, 4, 3, 8, 1, 2, 16, 3);

    public static ImageDataset Data(int count = 64)
    {
        var random = new Random(5);
        var labels = Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        var pixels = new byte[count * 3 * 64];
        for (int i = 0; i < count; i++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 64; p++)
                    pixels[(i * 3 + c) * 64 + p] = (byte)(random.Next(100) + (labels[i] == c ? 120 : 0));
        return new ImageDataset(pixels, labels, 3, 8, 8, 3);
    }

    public static TrainingOptions Options(string optimizer = "adamw") => new()
    {
        Epochs = 2, BatchSize = 16, LearningRate = 5e-3f, WarmupEpochs = 0.5f, Optimizer = optimizer, CropPadding = 1, HorizontalFlip = true, Seed = 3,
    };

    public static Trainer Trainer(Device device, out VisionTransformer model, TrainingOptions? options = null)
    {
        options ??= Options();
        model = new VisionTransformer(Config, device, options.Seed);
        return new Trainer(model, Data(), options, Normalization.Identity(3));
    }
}
