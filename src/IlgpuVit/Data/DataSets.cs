// The data sets the command line and the examples know by name, with their default folders and
// per-channel normalisation.

namespace IlgpuVit.Data;

/// <summary>Named data sets: "fashion-mnist" and "cifar10".</summary>
public static class DataSets
{
    /// <summary>The names <see cref="Load"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["fashion-mnist", "cifar10"];

    /// <summary>
    /// Loads the training or test split of data set <paramref name="name"/> from <paramref name="folder"/>
    /// (null: the data set's default folder), with the normalisation to train it with.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, or no folder given for a data set without a default.</exception>
    /// <exception cref="DatasetFormatException">A file is missing, truncated or inconsistent.</exception>
    public static (ImageDataset Data, Normalization Normalization) Load(string name, string? folder, bool train) => name switch
    {
        "fashion-mnist" => (FashionMnist.Load(folder ?? FashionMnist.DefaultFolder, train), FashionMnist.Normalization),
        "cifar10" => (Cifar10.Load(folder ?? throw new ArgumentException("cifar10 has no default folder: pass the folder holding data_batch_1.bin .. test_batch.bin."), train),
            Cifar10.Normalization),
        _ => throw Unknown(name),
    };

    /// <summary>
    /// The augmentation a data set trains with by default: flips only for Fashion-MNIST (short runs of the small
    /// models underfit it, and random crops cost accuracy), crop with 4 pixels of padding and flips for CIFAR-10.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static Augmentation DefaultAugmentation(string name) => name switch
    {
        "fashion-mnist" => new Augmentation(padding: 0, horizontalFlip: true),
        "cifar10" => new Augmentation(padding: 4, horizontalFlip: true),
        _ => throw Unknown(name),
    };

    private static ArgumentException Unknown(string name) => new($"Unknown data set '{name}'. Known: {string.Join(", ", Names)}.");
}
