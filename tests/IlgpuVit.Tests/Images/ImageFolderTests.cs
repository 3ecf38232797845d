using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Images;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Images;

public class ImageFolderTests
{
    [Fact]
    public void Lists_classes_ordinally_and_images_in_torchvision_order()
    {
        var (temp, expected) = TestImages.TempLayout();
        using var _ = temp;
        var folder = ImageFolder.Scan(temp.Path);
        folder.ClassNames.Should().Equal("Dog", "cat", "zebra");
        (folder.Classes, folder.Count).Should().Be((3, 7));
        folder.Root.Should().Be(Path.GetFullPath(temp.Path));
        folder.Samples.Select(s => (Path.GetRelativePath(temp.Path, s.Path).Replace('\\', '/'), s.Label))
            .Should().Equal(expected);
        folder.Samples.Should().OnlyContain(s => Path.IsPathFullyQualified(s.Path));
        folder.ClassHistogram().Should().Equal(2, 2, 3);
    }

    [Fact]
    public void A_relative_root_gives_full_paths()
    {
        using var temp = new TempFolder();
        TestImages.Write(temp.File("only/x.png"), 1, 1, TestImages.Solid(1, 2, 3), ImageKind.Png);
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, temp.Path);
        var folder = ImageFolder.Scan(relative);
        folder.Samples.Should().Equal(new ImageSample(temp.File("only/x.png"), 0));
    }

    [Theory]
    [InlineData("a.jpg", true)]
    [InlineData("a.JPEG", true)]
    [InlineData("a.Png", true)]
    [InlineData(".hidden.jpg", true)]
    [InlineData("a.gif", false)]
    [InlineData("a.jpg.txt", false)]
    [InlineData("jpg", false)]
    public void Recognises_extensions_case_insensitively(string name, bool image) =>
        ImageFolder.IsImageFile(name).Should().Be(image);

    [Fact]
    public void A_missing_folder_is_an_error_naming_it()
    {
        using var temp = new TempFolder();
        var missing = temp.File("nowhere");
        var act = () => ImageFolder.Scan(missing);
        act.Should().Throw<DirectoryNotFoundException>().WithMessage($"*{missing}*does not exist*");
        File.WriteAllText(temp.File("file"), "");
        var file = () => ImageFolder.Scan(temp.File("file"));
        file.Should().Throw<DirectoryNotFoundException>().WithMessage("*is a file*");
    }

    [Fact]
    public void A_folder_without_class_folders_is_an_error()
    {
        using var temp = new TempFolder();
        TestImages.Write(temp.File("loose.png"), 2, 2, TestImages.Solid(1, 2, 3), ImageKind.Png);
        var act = () => ImageFolder.Scan(temp.Path);
        act.Should().Throw<DatasetFormatException>().WithMessage("*no class sub-folders*")
            .Which.Path.Should().Be(temp.Path);
    }

    [Fact]
    public void Class_folders_without_images_are_an_error()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.File("a"));
        File.WriteAllText(temp.File("a/x.txt"), "");
        Directory.CreateDirectory(temp.File("b"));
        var none = () => ImageFolder.Scan(temp.Path);
        none.Should().Throw<DatasetFormatException>().WithMessage("*2 class folders but no image files*");

        TestImages.Write(temp.File("c/y.jpg"), 3, 3, TestImages.Solid(9, 9, 9), ImageKind.Jpeg);
        var some = () => ImageFolder.Scan(temp.Path);
        some.Should().Throw<DatasetFormatException>().WithMessage("*2 of 3 class folders hold no image files*'a', 'b'*");
    }
}
