// Fashion-MNIST (Xiao, Rasul, Vollgraf, 2017, https://github.com/zalandoresearch/fashion-mnist):
// 60000 training and 10000 test images, 1 x 28 x 28 grey, 10 classes, stored as four IDX files.
// Debian's dataset-fashion-mnist installs them, gzip-compressed, in DefaultFolder; uncompressed
// copies with the same names less ".gz" are accepted too.
namespace IlgpuVit.Data;

/// <summary>Loads Fashion-MNIST from its IDX files.</summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package dataset-fashion-mnist installs the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>Image side in pixels.</summary>
    public const int Side = 28;

    /// <summary>The ten class names, in label order.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The usual normalisation: mean 0.2860 and std 0.3530 of the training pixels.</summary>
    public static Normalization Normalization { get; } = new([0.2860f], [0.3530f]);

    /// <summary>Loads the training (60000) or test (10000) split from <paramref name="folder"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist; the message says how to get the data.</exception>
    /// <exception cref="FileNotFoundException">A file is missing; the message says how to get the data.</exception>
    /// <exception cref="DatasetFormatException">A file is malformed, the images are not 28 x 28, a label exceeds 9, or the image and label counts differ.</exception>
    public static ImageDataset Load(string folder, bool train)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Fashion-MNIST folder {folder} does not exist. {HowToGet}");
        string prefix = train ? "train" : "t10k";
        string imagesPath = Find(folder, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Find(folder, $"{prefix}-labels-idx1-ubyte");

        var (count, rows, cols, pixels) = Idx.ReadImages(imagesPath);
        if (rows != Side || cols != Side)
            throw new DatasetFormatException(imagesPath, $"images are {rows} x {cols}; Fashion-MNIST images are {Side} x {Side}.");
        var bytes = Idx.ReadLabels(labelsPath);
        if (bytes.Length != count)
            throw new DatasetFormatException(imagesPath,
                $"holds {count} images but {labelsPath} holds {bytes.Length} labels; the two files must come from the same split.");
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (bytes[i] >= ClassNames.Count)
                throw new DatasetFormatException(labelsPath, $"label {bytes[i]} of image {i} is outside 0..{ClassNames.Count - 1}.");
            labels[i] = bytes[i];
        }
        return new ImageDataset(pixels, labels, 1, Side, Side, ClassNames.Count, ClassNames);
    }

    private const string HowToGet =
        "Install it with `apt-get install dataset-fashion-mnist` (files go to " + DefaultFolder + ") or pass --data-dir <folder> holding the four IDX files.";

    /// <summary>The gzip file when present, else the uncompressed one.</summary>
    private static string Find(string folder, string name)
    {
        string gz = Path.Combine(folder, name + ".gz"), raw = Path.Combine(folder, name);
        if (File.Exists(gz)) return gz;
        if (File.Exists(raw)) return raw;
        throw new FileNotFoundException($"Fashion-MNIST file {name}.gz (or {name}) not found in {folder}. {HowToGet}", gz);
    }
}
