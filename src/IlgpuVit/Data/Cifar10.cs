// CIFAR-10, binary version (Krizhevsky, 2009, https://www.cs.toronto.edu/~kriz/cifar.html):
// data_batch_1.bin .. data_batch_5.bin (50000 training images) and test_batch.bin (10000), each a
// sequence of 3073-byte records: one label byte, then 1024 red, 1024 green and 1024 blue bytes, each
// plane 32 x 32 row-major. That is already the planar (C, H, W) layout, so records copy straight in.
namespace IlgpuVit.Data;

/// <summary>Loads CIFAR-10 from its binary batch files.</summary>
public static class Cifar10
{
    /// <summary>Image side in pixels.</summary>
    public const int Side = 32;

    /// <summary>Bytes per record: one label, then 3 x 32 x 32 pixels.</summary>
    public const int RecordSize = 1 + 3 * Side * Side;

    /// <summary>The ten class names, in label order.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>The usual normalisation: per-channel mean and std of the training pixels.</summary>
    public static Normalization Normalization { get; } = new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);

    /// <summary>
    /// Loads the training (data_batch_1..5.bin) or test (test_batch.bin) split from <paramref name="folder"/>,
    /// or from its cifar-10-batches-bin subfolder (where the official archive extracts).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist; the message says how to get the data.</exception>
    /// <exception cref="FileNotFoundException">A batch file is missing; the message says how to get the data.</exception>
    /// <exception cref="DatasetFormatException">A file's length is not a whole number of records, or a label exceeds 9.</exception>
    public static ImageDataset Load(string folder, bool train)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"CIFAR-10 folder {folder} does not exist. {HowToGet}");
        string extracted = Path.Combine(folder, "cifar-10-batches-bin");
        if (!File.Exists(Path.Combine(folder, "test_batch.bin")) && Directory.Exists(extracted))
            folder = extracted;
        string[] names = train ? [.. Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin")] : ["test_batch.bin"];
        var paths = names.Select(n => Path.Combine(folder, n)).ToArray();
        foreach (var path in paths)
            if (!File.Exists(path))
                throw new FileNotFoundException($"CIFAR-10 file {Path.GetFileName(path)} not found in {folder}. {HowToGet}", path);
        return ReadBatches(paths);
    }

    /// <summary>Reads and concatenates binary batch files, in the order given.</summary>
    /// <exception cref="DatasetFormatException">A file's length is not a whole number of records, or a label exceeds 9.</exception>
    public static ImageDataset ReadBatches(params string[] paths)
    {
        if (paths.Length == 0) throw new ArgumentException("No CIFAR-10 batch files given.", nameof(paths));
        const int imageSize = RecordSize - 1;
        var lengths = paths.Select(p => new FileInfo(p).Length).ToArray();
        for (int f = 0; f < paths.Length; f++)
            if (lengths[f] == 0 || lengths[f] % RecordSize != 0)
                throw new DatasetFormatException(paths[f],
                    $"length {lengths[f]} bytes is not a positive multiple of the {RecordSize}-byte record (1 label + 3072 pixels); the file is truncated or not a CIFAR-10 binary batch.");
        long total = lengths.Sum() / RecordSize;
        if (total * imageSize > Array.MaxLength)
            throw new ArgumentException($"{total} CIFAR-10 images do not fit one array.", nameof(paths));

        var pixels = new byte[total * imageSize];
        var labels = new int[total];
        var record = new byte[RecordSize];
        int image = 0;
        for (int f = 0; f < paths.Length; f++)
        {
            using var file = new FileStream(paths[f], FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            for (long r = 0; r < lengths[f] / RecordSize; r++, image++)
            {
                file.ReadExactly(record);
                if (record[0] >= ClassNames.Count)
                    throw new DatasetFormatException(paths[f], $"record {r} has label {record[0]}; CIFAR-10 labels are 0..{ClassNames.Count - 1}.");
                labels[image] = record[0];
                record.AsSpan(1).CopyTo(pixels.AsSpan(image * imageSize, imageSize));
            }
        }
        return new ImageDataset(pixels, labels, 3, Side, Side, ClassNames.Count, ClassNames);
    }

    private const string HowToGet =
        "Download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, extract it and pass --data-dir <folder> (the folder holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin, or its parent).";
}
