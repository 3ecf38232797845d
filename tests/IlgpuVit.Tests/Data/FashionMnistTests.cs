using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Data;

public class FashionMnistTests
{
    private static bool Installed(string folder) =>
        new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
            .All(n => File.Exists(Path.Combine(folder, n + ".gz")) || File.Exists(Path.Combine(folder, n)));

    [SkippableTheory]
    [InlineData(true, 60000)]
    [InlineData(false, 10000)]
    public void The_installed_files_load_with_balanced_classes(bool train, int count)
    {
        Skip.IfNot(Installed(FashionMnist.DefaultFolder),
            $"Fashion-MNIST is not installed in {FashionMnist.DefaultFolder} (apt-get install dataset-fashion-mnist)");
        var data = FashionMnist.Load(FashionMnist.DefaultFolder, train);
        data.Count.Should().Be(count);
        (data.Channels, data.Height, data.Width, data.Classes).Should().Be((1, 28, 28, 10));
        data.ClassNames.Should().Equal(FashionMnist.ClassNames);
        data.ClassHistogram().Should().OnlyContain(n => n == count / 10);
        // Real images: mostly dark background, not all zero.
        int max = 0;
        foreach (var b in data.Image(0)) max = Math.Max(max, b);
        max.Should().BeGreaterThan(100);
        if (train)
        {
            var measured = Normalization.Compute(data);
            measured.Mean[0].Should().BeApproximately(FashionMnist.Normalization.Mean[0], 5e-4f);
            measured.Std[0].Should().BeApproximately(FashionMnist.Normalization.Std[0], 5e-4f);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Small_files_load_raw_or_gzip(bool gzip)
    {
        using var folder = new TempFolder();
        var pixels = DataFiles.Bytes(7, 7 * 28 * 28);
        byte[] labels = [9, 0, 3, 3, 1, 8, 5];
        string suffix = gzip ? ".gz" : "";
        DataFiles.Write(folder.File("t10k-images-idx3-ubyte" + suffix), DataFiles.IdxImages(7, 28, 28, pixels), gzip);
        DataFiles.Write(folder.File("t10k-labels-idx1-ubyte" + suffix), DataFiles.IdxLabels(labels), gzip);

        var data = FashionMnist.Load(folder.Path, train: false);
        data.Count.Should().Be(7);
        data.Pixels.ToArray().Should().Equal(pixels);
        data.Labels.ToArray().Should().Equal(labels.Select(l => (int)l));
        data.ClassNames![9].Should().Be("Ankle boot");
    }

    [Fact]
    public void Image_and_label_counts_that_differ_name_both_files()
    {
        using var folder = new TempFolder();
        var images = DataFiles.Write(folder.File("train-images-idx3-ubyte"), DataFiles.IdxImages(3, 28, 28, new byte[3 * 784]));
        var labels = DataFiles.Write(folder.File("train-labels-idx1-ubyte"), DataFiles.IdxLabels([1, 2, 3, 4]));
        var act = () => FashionMnist.Load(folder.Path, train: true);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{images}: holds 3 images but {labels} holds 4 labels*");
    }

    [Fact]
    public void A_missing_folder_or_file_says_how_to_get_the_data()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-fashion-" + Guid.NewGuid());
        var noFolder = () => FashionMnist.Load(missing, train: true);
        noFolder.Should().Throw<DirectoryNotFoundException>()
            .WithMessage($"*{missing}*apt-get install dataset-fashion-mnist*--data*");

        using var folder = new TempFolder();
        DataFiles.Write(folder.File("train-images-idx3-ubyte.gz"), DataFiles.IdxImages(1, 28, 28, new byte[784]), gzip: true);
        var noLabels = () => FashionMnist.Load(folder.Path, train: true);
        noLabels.Should().Throw<FileNotFoundException>()
            .WithMessage($"*train-labels-idx1-ubyte.gz (or train-labels-idx1-ubyte) not found in {folder.Path}*apt-get install dataset-fashion-mnist*");
    }

    [Fact]
    public void Wrong_image_size_and_out_of_range_labels_name_the_file()
    {
        using var folder = new TempFolder();
        var images = DataFiles.Write(folder.File("t10k-images-idx3-ubyte"), DataFiles.IdxImages(2, 27, 28, new byte[2 * 27 * 28]));
        DataFiles.Write(folder.File("t10k-labels-idx1-ubyte"), DataFiles.IdxLabels([0, 1]));
        var act = () => FashionMnist.Load(folder.Path, train: false);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{images}: images are 27 x 28*28 x 28*");

        DataFiles.Write(images, DataFiles.IdxImages(2, 28, 28, new byte[2 * 784]));
        var labels = DataFiles.Write(folder.File("t10k-labels-idx1-ubyte"), DataFiles.IdxLabels([0, 10]));
        var badLabel = () => FashionMnist.Load(folder.Path, train: false);
        badLabel.Should().Throw<DatasetFormatException>().WithMessage($"{labels}: label 10 of image 1 is outside 0..9*");
    }
}
