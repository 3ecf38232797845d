// Class-index mapping of image folders (ImageFolder.Scan with a map, ReadClassMap, IndexNamedFolders):
// a subset of a head's classes keeps each class's index; empty class folders are allowed with a map;
// each bad map gets an error naming the folder or the file. Also the preprocessing without a resize
// (ResizeTo 0): an image at the crop's size goes in as it is, a smaller one is refused by name.
using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Experiments;
using IlgpuVit.Images;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Images;

public class ClassMapTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private void Image(string path, int side = 4) => TestImages.Write(_temp.File(path), side, side, TestImages.Pattern(path.Length), ImageKind.Png);

    [Fact]
    public void A_map_gives_each_folder_its_index_and_allows_empty_folders()
    {
        Image("n02/x.png");
        Image("n01/y.png");
        Directory.CreateDirectory(_temp.File("n09"));
        var folder = ImageFolder.Scan(_temp.Path, new Dictionary<string, int> { ["n01"] = 7, ["n02"] = 3, ["n09"] = 999 });
        folder.Samples.Select(s => (Path.GetFileName(s.Path), s.Label)).Should().Equal(("y.png", 7), ("x.png", 3));
        folder.Classes.Should().Be(1000);
        (folder.ClassNames[3], folder.ClassNames[7], folder.ClassNames[999], folder.ClassNames[0]).Should().Be(("n02", "n01", "n09", ""));
    }

    [Fact]
    public void Folders_named_by_index_map_to_their_numbers()
    {
        Image("12/a.png");
        Image("5/b.png");
        var map = ImageFolder.IndexNamedFolders(_temp.Path);
        map.Should().BeEquivalentTo(new Dictionary<string, int> { ["12"] = 12, ["5"] = 5 });
        ImageFolder.Scan(_temp.Path, map).Samples.Select(s => s.Label).Should().Equal(12, 5);
        Image("cat/c.png");
        var act = () => ImageFolder.IndexNamedFolders(_temp.Path);
        act.Should().Throw<DatasetFormatException>().WithMessage("*named by their class index*'cat'*");
    }

    [Fact]
    public void Bad_maps_are_named()
    {
        Image("a/1.png");
        Image("b/1.png");
        var missing = () => ImageFolder.Scan(_temp.Path, new Dictionary<string, int> { ["a"] = 0 });
        missing.Should().Throw<DatasetFormatException>().WithMessage("*1 class folders are not in the class map: 'b'*");
        var shared = () => ImageFolder.Scan(_temp.Path, new Dictionary<string, int> { ["a"] = 2, ["b"] = 2 });
        shared.Should().Throw<DatasetFormatException>().WithMessage("*index 2 to several folders: 'a', 'b'*");
        var negative = () => ImageFolder.Scan(_temp.Path, new Dictionary<string, int> { ["a"] = -1, ["b"] = 2 });
        negative.Should().Throw<DatasetFormatException>().WithMessage("*folder 'a' index -1*");
        File.WriteAllText(_temp.File("map.json"), """{"a": "zero"}""");
        var malformed = () => ImageFolder.ReadClassMap(_temp.File("map.json"));
        malformed.Should().Throw<DatasetFormatException>().WithMessage("*map.json*not a class map*");
        var absent = () => ImageFolder.ReadClassMap(_temp.File("none.json"));
        absent.Should().Throw<FileNotFoundException>().WithMessage("*none.json' does not exist*");
        File.WriteAllText(_temp.File("good.json"), """{"a": 4, "b": 1}""");
        ImageFolder.ReadClassMap(_temp.File("good.json")).Should().BeEquivalentTo(new Dictionary<string, int> { ["a"] = 4, ["b"] = 1 });
    }

    [Fact]
    public void Without_a_resize_an_image_at_the_crop_size_goes_in_as_it_is()
    {
        TestImages.Write(_temp.File("x.png"), 6, 6, TestImages.Pattern(3), ImageKind.Png);
        var options = new PreprocessSettings("none").For(6);
        (options.ResizeTo, options.Crop).Should().Be((0, 6));
        var output = new ImagePreprocessor(options).Preprocess(_temp.File("x.png"));
        var rgb = ImageDecoder.Decode(_temp.File("x.png"));
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 36; p++)
                output[c * 36 + p].Should().Be(rgb.Pixels[p * 3 + c] / 255f, "mean 0 and std 1, no resampling");
        var small = () => new ImagePreprocessor(new PreprocessSettings("none").For(8)).Preprocess(_temp.File("x.png"));
        small.Should().Throw<DatasetFormatException>().WithMessage("*x.png*6x6, smaller than the 8x8 crop*");
    }

    [Fact]
    public void Preprocessing_flags_override_the_preset_and_bad_ones_are_named()
    {
        var deit = new PreprocessSettings("deit", Resize: 40, Mean: [0.1f, 0.2f, 0.3f]).For(32);
        (deit.ResizeTo, deit.Crop).Should().Be((40, 32));
        deit.Normalization.Mean.Should().Equal(0.1f, 0.2f, 0.3f);
        deit.Normalization.Std.Should().Equal(PreprocessOptions.ImageNetNormalization.Std);
        new PreprocessSettings().For(224).ResizeTo.Should().Be(248);
        var cases = new (PreprocessSettings Settings, string Message)[]
        {
            (new("timm"), "Unknown --preprocess 'timm'*"),
            (new(Interpolation: "lanczos"), "Unknown --interpolation 'lanczos'*"),
            (new(Crop: 30), "--crop 30 differs from the model's image size 32*"),
            (new(Resize: 20), "--resize 20 is smaller than the crop 32*"),
            (new(Resize: -1), "--resize must be at least 0*"),
            (new(Std: [1f, 0f, 1f]), "--std must be positive*"),
        };
        foreach (var (settings, message) in cases)
        {
            var act = () => settings.For(32);
            act.Should().Throw<ArgumentException>().WithMessage(message);
        }
        var parse = () => PreprocessSettings.ParseChannels("--std", "0.2,x,0.2");
        parse.Should().Throw<ArgumentException>().WithMessage("--std takes three numbers*'0.2,x,0.2'*");
    }
}
