// IO.ModelConfigs: a registry name, a JSON configuration (VitConfig's names in any case, or timm's), or the
// configuration in a weights file's metadata; fields left out come from the tensor shapes, except the
// head count, whose absence is named. Every bad input gets an error naming the file and the field.
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.IO;

public class ModelConfigsTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _weights;
    private static readonly VitConfig Custom = new("custom", 48, 8, 3, 24, 3, 3, 40, 7, GlobalPool: "avg");

    public ModelConfigsTests()
    {
        _weights = _folder.File("custom.safetensors");
        using var device = Device.Open("cpu");
        using var model = new VisionTransformer(Custom, device, seed: 1);
        TrainingCheckpoint.Save(_weights, model);
    }

    public void Dispose() => _folder.Dispose();

    private string Json(string name, string text)
    {
        string path = _folder.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Names_files_and_metadata_resolve()
    {
        using var weights = SafeTensorsFile.Open(_weights);
        ModelConfigs.Resolve(null, weights).Should().Be(Custom, "our checkpoints store the configuration in the metadata");
        ModelConfigs.Resolve("vit_micro_patch4_32", weights).Should().Be(ModelRegistry.Get("vit_micro_patch4_32"));
        var full = Json("full.json", """{"name": "custom", "imageSize": 48, "patchSize": 8, "inChannels": 3, "embedDim": 24, "depth": 3, "heads": 3, "mlpDim": 40, "classes": 7, "globalPool": "avg"}""");
        ModelConfigs.Resolve(full, weights).Should().Be(Custom);
    }

    [Fact]
    public void Fields_left_out_come_from_the_shapes_but_heads_must_be_given()
    {
        using var weights = SafeTensorsFile.Open(_weights);
        var timm = Json("custom.json", """{"num_heads": 3}""");
        ModelConfigs.Resolve(timm, weights).Should().Be(Custom, "size, patch, width, depth, MLP, classes and pooling come from the shapes");
        ModelConfigs.NotInferable.Should().Equal("heads");
        var noHeads = Json("noheads.json", """{"embed_dim": 24}""");
        var act = () => ModelConfigs.Resolve(noHeads, weights);
        act.Should().Throw<ArgumentException>().WithMessage("*noheads.json*lacks 'heads'*cannot be inferred from tensor shapes*");
    }

    [Fact]
    public void Bad_configurations_are_named()
    {
        using var weights = SafeTensorsFile.Open(_weights);
        var cases = new (string Arch, string Message)[]
        {
            (Json("unknown.json", """{"heads": 3, "colour": 1}"""), "*unknown.json: unknown key 'colour'*"),
            (Json("broken.json", """{"heads": 3"""), "*broken.json: not a model configuration*"),
            (Json("text.json", """{"heads": "three"}"""), "*text.json: 'heads' is \"three\", not a number*"),
            (Json("split.json", """{"heads": 5}"""), "*embed dim 24 must split into 5 heads*"),
            ("vit_nonesuch", "Unknown model 'vit_nonesuch'*JSON configuration file*"),
        };
        foreach (var (arch, message) in cases)
        {
            var act = () => ModelConfigs.Resolve(arch, weights);
            act.Should().Throw<ArgumentException>().WithMessage(message);
        }
        var missing = () => ModelConfigs.Resolve(_folder.File("absent.json"), weights);
        missing.Should().Throw<FileNotFoundException>().WithMessage("*absent.json' does not exist*");
        string bare = _folder.File("bare.safetensors");
        SafeTensors.Write(bare, [new SafeTensor("head.weight", [7, 24], new float[7 * 24])]);
        using var bareFile = SafeTensorsFile.Open(bare);
        var none = () => ModelConfigs.Resolve(null, bareFile);
        none.Should().Throw<ArgumentException>().WithMessage("*carries no model configuration*heads cannot be inferred*");
    }
}
