using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Data;

public class IdxTests
{
    [Theory]
    [InlineData(1, 1, 1, false)]
    [InlineData(7, 31, 33, false)]
    [InlineData(33, 28, 28, true)]
    [InlineData(197, 7, 1, true)]
    public void Images_and_labels_round_trip(int count, int rows, int cols, bool gzip)
    {
        using var folder = new TempFolder();
        var pixels = DataFiles.Bytes(count, count * rows * cols);
        var labels = DataFiles.Bytes(count + 1, count);
        var imagesPath = DataFiles.Write(folder.File("images"), DataFiles.IdxImages(count, rows, cols, pixels), gzip);
        var labelsPath = DataFiles.Write(folder.File("labels"), DataFiles.IdxLabels(labels), gzip);

        var read = Idx.ReadImages(imagesPath);
        (read.Count, read.Rows, read.Cols).Should().Be((count, rows, cols));
        read.Pixels.Should().Equal(pixels);
        Idx.ReadLabels(labelsPath).Should().Equal(labels);
    }

    [Fact]
    public void Gzip_is_detected_by_its_magic_not_by_the_name()
    {
        using var folder = new TempFolder();
        var labels = DataFiles.Bytes(3, 31);
        var compressed = DataFiles.Write(folder.File("labels.raw"), DataFiles.IdxLabels(labels), gzip: true);
        var plain = DataFiles.Write(folder.File("labels.gz"), DataFiles.IdxLabels(labels), gzip: false);
        Idx.ReadLabels(compressed).Should().Equal(labels);
        Idx.ReadLabels(plain).Should().Equal(labels);
    }

    [Fact]
    public void A_label_file_read_as_images_names_the_file_and_the_wrong_magic()
    {
        using var folder = new TempFolder();
        var path = DataFiles.Write(folder.File("t10k-labels"), DataFiles.IdxLabels([1, 2, 3]));
        var act = () => Idx.ReadImages(path);
        act.Should().Throw<DatasetFormatException>()
            .WithMessage($"{path}: wrong magic number 0x00000801 (this is an IDX label file)*0x00000803*")
            .Which.Path.Should().Be(path);
        var images = DataFiles.Write(folder.File("images"), DataFiles.IdxImages(1, 1, 1, [0]));
        var labels = () => Idx.ReadLabels(images);
        labels.Should().Throw<DatasetFormatException>().WithMessage($"{images}: wrong magic number 0x00000803*0x00000801*");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_file_with_fewer_bytes_than_the_header_promises_is_truncated(bool gzip)
    {
        using var folder = new TempFolder();
        // The header promises 5 images of 7 x 3 (105 bytes); only 100 follow.
        var path = DataFiles.Write(folder.File("images"), DataFiles.IdxImages(5, 7, 3, new byte[100]), gzip);
        var act = () => Idx.ReadImages(path);
        act.Should().Throw<DatasetFormatException>()
            .WithMessage($"{path}: truncated: the header promises 5 images of 7 x 3 (105 bytes) but only 100 bytes follow*");
        var labels = DataFiles.Write(folder.File("labels"), DataFiles.IdxLabels(new byte[9], count: 10), gzip);
        var readLabels = () => Idx.ReadLabels(labels);
        readLabels.Should().Throw<DatasetFormatException>().WithMessage($"{labels}: truncated*10 labels*9 bytes*");
    }

    [Fact]
    public void A_file_shorter_than_its_header_is_truncated()
    {
        using var folder = new TempFolder();
        var path = DataFiles.Write(folder.File("images"), DataFiles.IdxImages(5, 7, 3, [])[..10]);
        var act = () => Idx.ReadImages(path);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{path}: truncated: 10 bytes, too short for an IDX header (16 bytes).");
        var empty = DataFiles.Write(folder.File("empty"), []);
        var readEmpty = () => Idx.ReadLabels(empty);
        readEmpty.Should().Throw<DatasetFormatException>().WithMessage($"{empty}: truncated: 0 bytes*");
    }

    [Fact]
    public void Bytes_after_the_promised_data_are_trailing_garbage()
    {
        using var folder = new TempFolder();
        var bytes = DataFiles.IdxLabels([1, 2, 3]).Concat(new byte[] { 9, 9 }).ToArray();
        var path = DataFiles.Write(folder.File("labels"), bytes, gzip: true);
        var act = () => Idx.ReadLabels(path);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{path}: 2 bytes of trailing garbage after the 3 labels*");
    }

    [Fact]
    public void Corrupt_gzip_names_the_file()
    {
        using var folder = new TempFolder();
        var gzip = DataFiles.Gzip(DataFiles.IdxLabels(DataFiles.Bytes(5, 1000)));
        // Keep the gzip header (10 bytes), scramble the deflate stream.
        var corrupt = gzip[..10].Concat(Enumerable.Repeat((byte)0xFF, gzip.Length - 10)).ToArray();
        var path = DataFiles.Write(folder.File("labels.gz"), corrupt);
        var act = () => Idx.ReadLabels(path);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{path}: corrupt gzip data*");
    }

    [Fact]
    public void A_cut_gzip_file_is_reported_with_its_name()
    {
        using var folder = new TempFolder();
        var gzip = DataFiles.Gzip(DataFiles.IdxImages(7, 28, 28, DataFiles.Bytes(6, 7 * 28 * 28)));
        var path = DataFiles.Write(folder.File("images.gz"), gzip[..(gzip.Length / 2)]);
        var act = () => Idx.ReadImages(path);
        act.Should().Throw<DatasetFormatException>().Which.Message.Should().StartWith(path).And.ContainAny("truncated", "corrupt gzip");
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-idx-file-" + Guid.NewGuid());
        var act = () => Idx.ReadImages(path);
        act.Should().Throw<FileNotFoundException>().WithMessage($"{path}*not found*");
    }

    [Fact]
    public void Empty_image_dimensions_are_rejected()
    {
        using var folder = new TempFolder();
        var path = DataFiles.Write(folder.File("images"), DataFiles.IdxImages(3, 0, 28, []));
        var act = () => Idx.ReadImages(path);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{path}: header declares images of 0 x 28 pixels*");
    }
}
