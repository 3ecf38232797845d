using FluentAssertions;
using IlgpuVit.Data;

namespace IlgpuVit.Tests.Data;

public class ImageDatasetTests
{
    [Fact]
    public void Exposes_shape_images_and_labels()
    {
        var pixels = DataFiles.Bytes(1, 7 * 3 * 5 * 2);
        var data = new ImageDataset(pixels, new[] { 0, 1, 2, 0, 1, 2, 2 }, 3, 5, 2, 3, ["a", "b", "c"]);
        (data.Count, data.Channels, data.Height, data.Width, data.ImageSize, data.Classes).Should().Be((7, 3, 5, 2, 30, 3));
        data.Image(4).ToArray().Should().Equal(pixels.Skip(4 * 30).Take(30));
        data.ClassHistogram().Should().Equal(2, 2, 3);
        Action outside = () => _ = data.Image(7).Length;
        outside.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Take_is_a_prefix_sharing_the_data()
    {
        var data = DataFiles.Indexed(33, 1, 7, 7);
        var head = data.Take(31);
        head.Count.Should().Be(31);
        head.Labels.ToArray().Should().Equal(Enumerable.Range(0, 31));
        head.Pixels.ToArray().Should().Equal(data.Pixels[..(31 * 49)].ToArray());
        head.Classes.Should().Be(33);
        data.Take(1).Count.Should().Be(1);
        var none = () => data.Take(0);
        none.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[1, 33]*");
        var tooMany = () => data.Take(34);
        tooMany.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Inconsistent_inputs_are_rejected_with_the_numbers()
    {
        var shortPixels = () => new ImageDataset(new byte[2 * 28 * 28 - 1], new[] { 0, 1 }, 1, 28, 28, 10);
        shortPixels.Should().Throw<ArgumentException>().WithMessage("2 labels need 1568 pixel bytes*got 1567*");
        var badLabel = () => new ImageDataset(new byte[2], new[] { 0, 10 }, 1, 1, 1, 10);
        badLabel.Should().Throw<ArgumentException>().WithMessage("Label 10 of image 1 is outside [0, 10)*");
        var negative = () => new ImageDataset(new byte[1], new[] { -1 }, 1, 1, 1, 10);
        negative.Should().Throw<ArgumentException>().WithMessage("Label -1 of image 0*");
        var names = () => new ImageDataset(new byte[1], new[] { 0 }, 1, 1, 1, 2, ["only one"]);
        names.Should().Throw<ArgumentException>().WithMessage("1 class names given for 2 classes*");
        var empty = () => new ImageDataset(Array.Empty<byte>(), Array.Empty<int>(), 1, 1, 1, 2);
        empty.Should().Throw<ArgumentException>().WithMessage("*at least one image*");
        var shape = () => new ImageDataset(new byte[1], new[] { 0 }, 1, 0, 1, 2);
        shape.Should().Throw<ArgumentException>().WithMessage("Image shape (1, 0, 1)*");
    }
}
