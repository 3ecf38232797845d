// Generated stand-ins for the real files of `eval --weights` and `train --init`: timm-named weights of a
// registered small RGB model (vit_micro_patch4_32, 32 px, so the CLI runs in milliseconds on the CPU),
// written by TrainingCheckpoint.Save (whose tensor names are timm's), and a small ImageNet-layout folder of PNGs
// with one corrupt image; plus a CIFAR-10 folder of random records for training, and a way to call a
// command with Console.Out and Console.Error captured.
using System.CommandLine;
using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Data;
using IlgpuVit.Tests.Images;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Cli;

public static class PretrainedFixtures
{
    /// <summary>The architecture the generated weights fit.</summary>
    public const string Arch = "vit_micro_patch4_32";

    /// <summary>Writes weights of <see cref="Arch"/> with a head of <paramref name="classes"/> classes, initialised from <paramref name="seed"/>.</summary>
    public static string Weights(string path, int classes = 10, int seed = 11)
    {
        using var device = Device.Open("cpu");
        using var model = new VisionTransformer(ModelRegistry.Get(Arch) with { Classes = classes }, device, seed);
        TrainingCheckpoint.Save(path, model);
        return path;
    }

    /// <summary>
    /// Classes "a" (3 images), "b" (2 images, then a corrupt one: "b/z.png" holds text) and "c" (2 images) of odd sizes;
    /// 7 readable images; the corrupt one is sixth in folder order (after a/1-3, b/1-2).
    /// </summary>
    public static string ImageFolder(string root)
    {
        (string Path, int W, int H)[] images = [("a/1.png", 40, 37), ("a/2.png", 33, 50), ("a/3.png", 197, 31), ("b/1.png", 35, 35), ("b/2.png", 64, 48),
            ("c/1.png", 31, 33), ("c/2.png", 36, 99)];
        for (int i = 0; i < images.Length; i++)
            TestImages.Write(Path.Combine(root, images[i].Path), images[i].W, images[i].H, TestImages.Pattern(i), ImageKind.Png);
        File.WriteAllText(Path.Combine(root, "b", "z.png"), "not a PNG");
        return root;
    }

    /// <summary>The six CIFAR-10 batch files with <paramref name="perFile"/> random records each.</summary>
    public static string Cifar10Folder(string root, int perFile = 8)
    {
        const int imageBytes = Cifar10.RecordSize - 1;
        Directory.CreateDirectory(root);
        string[] names = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];
        for (int f = 0; f < names.Length; f++)
        {
            var labels = DataFiles.Bytes(40 + f, perFile).Select(b => (byte)(b % 10)).ToArray();
            File.WriteAllBytes(Path.Combine(root, names[f]), DataFiles.CifarRecords(labels, DataFiles.Bytes(50 + f, perFile * imageBytes)));
        }
        return root;
    }

    /// <summary>Runs <paramref name="command"/> with <paramref name="args"/>; returns its exit code, stdout and stderr.</summary>
    public static (int Code, string Output, string Error) Invoke(Command command, params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var (previousOut, previousError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            return (new RootCommand { command }.Parse(args).Invoke(), output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
    }
}
