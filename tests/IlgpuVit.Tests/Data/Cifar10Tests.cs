using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Data;

public class Cifar10Tests
{
    private const int ImageBytes = Cifar10.RecordSize - 1;

    /// <summary>Writes the six batch files with the given record counts; returns all labels and pixels in file order.</summary>
    private static (byte[] Labels, byte[] Pixels) WriteSplit(string folder, int[] trainCounts, int testCount, out (byte[] Labels, byte[] Pixels) test)
    {
        var labels = new List<byte>();
        var pixels = new List<byte>();
        for (int f = 0; f < 5; f++)
        {
            var l = DataFiles.Bytes(10 + f, trainCounts[f]).Select(b => (byte)(b % 10)).ToArray();
            var p = DataFiles.Bytes(20 + f, trainCounts[f] * ImageBytes);
            File.WriteAllBytes(Path.Combine(folder, $"data_batch_{f + 1}.bin"), DataFiles.CifarRecords(l, p));
            labels.AddRange(l);
            pixels.AddRange(p);
        }
        var testLabels = DataFiles.Bytes(30, testCount).Select(b => (byte)(b % 10)).ToArray();
        var testPixels = DataFiles.Bytes(31, testCount * ImageBytes);
        File.WriteAllBytes(Path.Combine(folder, "test_batch.bin"), DataFiles.CifarRecords(testLabels, testPixels));
        test = (testLabels, testPixels);
        return (labels.ToArray(), pixels.ToArray());
    }

    [Fact]
    public void Training_batches_concatenate_in_order_and_the_test_batch_loads_alone()
    {
        using var folder = new TempFolder();
        var train = WriteSplit(folder.Path, [1, 2, 3, 1, 7], 3, out var test);

        var data = Cifar10.Load(folder.Path, train: true);
        data.Count.Should().Be(14);
        (data.Channels, data.Height, data.Width, data.Classes).Should().Be((3, 32, 32, 10));
        data.ClassNames.Should().Equal("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");
        data.Labels.ToArray().Should().Equal(train.Labels.Select(l => (int)l));
        data.Pixels.ToArray().Should().Equal(train.Pixels);

        var testData = Cifar10.Load(folder.Path, train: false);
        testData.Count.Should().Be(3);
        testData.Labels.ToArray().Should().Equal(test.Labels.Select(l => (int)l));
        testData.Pixels.ToArray().Should().Equal(test.Pixels);
    }

    [Fact]
    public void Record_bytes_become_red_green_blue_planes()
    {
        using var folder = new TempFolder();
        var pixels = new byte[ImageBytes];
        pixels[0] = 11;                 // red (0, 0)
        pixels[1024 + 33] = 22;         // green (1, 1)
        pixels[2048 + 1023] = 33;       // blue (31, 31)
        var path = Path.Combine(folder.Path, "one.bin");
        File.WriteAllBytes(path, DataFiles.CifarRecords([7], pixels));
        var data = Cifar10.ReadBatches(path);
        var image = data.Image(0);
        (image[0], image[(1 * 32 + 1) * 32 + 1], image[(2 * 32 + 31) * 32 + 31]).Should().Be(((byte)11, (byte)22, (byte)33));
        data.Labels[0].Should().Be(7);
    }

    [Fact]
    public void The_extracted_archive_subfolder_is_found()
    {
        using var folder = new TempFolder();
        var inner = Directory.CreateDirectory(Path.Combine(folder.Path, "cifar-10-batches-bin")).FullName;
        WriteSplit(inner, [1, 1, 1, 1, 1], 2, out _);
        Cifar10.Load(folder.Path, train: false).Count.Should().Be(2);
        Cifar10.Load(folder.Path, train: true).Count.Should().Be(5);
    }

    [Theory]
    [InlineData(2 * Cifar10.RecordSize + 5)]
    [InlineData(Cifar10.RecordSize - 1)]
    [InlineData(0)]
    public void A_length_that_is_not_whole_records_names_the_file(int length)
    {
        using var folder = new TempFolder();
        var path = DataFiles.Write(folder.File("test_batch.bin"), new byte[length]);
        var act = () => Cifar10.Load(folder.Path, train: false);
        act.Should().Throw<DatasetFormatException>()
            .WithMessage($"{path}: length {length} bytes is not a positive multiple of the 3073-byte record*");
    }

    [Fact]
    public void A_label_above_9_names_the_file_and_the_record()
    {
        using var folder = new TempFolder();
        var path = DataFiles.Write(folder.File("test_batch.bin"), DataFiles.CifarRecords([3, 10], new byte[2 * ImageBytes]));
        var act = () => Cifar10.Load(folder.Path, train: false);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{path}: record 1 has label 10; CIFAR-10 labels are 0..9.");
    }

    [Fact]
    public void Missing_files_and_folders_say_how_to_get_the_data()
    {
        using var folder = new TempFolder();
        WriteSplit(folder.Path, [1, 1, 1, 1, 1], 1, out _);
        File.Delete(folder.File("data_batch_3.bin"));
        var act = () => Cifar10.Load(folder.Path, train: true);
        act.Should().Throw<FileNotFoundException>()
            .WithMessage($"CIFAR-10 file data_batch_3.bin not found in {folder.Path}*cifar-10-binary.tar.gz*--data*");
        var missing = Path.Combine(folder.Path, "absent");
        var noFolder = () => Cifar10.Load(missing, train: false);
        noFolder.Should().Throw<DirectoryNotFoundException>().WithMessage($"*{missing}*cifar-10-binary.tar.gz*");
    }
}
