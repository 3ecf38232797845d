// Fine-tuning experiments: "init" (and the CLI's --init through WithInit) takes a checkpoint of the
// experiment's own architecture, and refuses a missing file, a folder, a file that is no checkpoint
// and a checkpoint of another architecture, each with one line naming the key.

using FluentAssertions;
using IlgpuVit.Experiments;
using IlgpuVit.Nn;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Experiments;

public class ExperimentInitTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Checkpoint(string model)
    {
        string path = _folder.File($"{model}.safetensors");
        using var vit = new VisionTransformer(ModelRegistry.Get(model), Backends.Cpu, 0);
        TrainingCheckpoint.Save(path, vit);
        return path;
    }

    private static string File(string init) => $$"""{ "name": "ft", "model": "vit_micro_patch4_28", "init": {{System.Text.Json.JsonSerializer.Serialize(init)}} }""";

    [Fact]
    public void A_checkpoint_of_the_same_architecture_is_taken()
    {
        string path = Checkpoint("vit_micro_patch4_28");
        ExperimentConfig.Parse(File(path), "ft.json").Init.Should().Be(path);
        ExperimentConfig.Parse("""{ "name": "ft" }""", "ft.json").WithInit(path).Init.Should().Be(path);
    }

    [Fact]
    public void Bad_checkpoints_are_refused_with_the_key()
    {
        var missing = () => ExperimentConfig.Parse(File(_folder.File("none.safetensors")), "ft.json");
        missing.Should().Throw<ArgumentException>().WithMessage("ft.json: init: checkpoint '*none.safetensors' not found.");
        var folder = () => ExperimentConfig.Parse(File(_folder.Path), "ft.json");
        folder.Should().Throw<ArgumentException>().WithMessage("ft.json: init: * is a folder; give its checkpoint file*");
        string text = _folder.File("text.safetensors");
        System.IO.File.WriteAllText(text, "not a checkpoint");
        var garbage = () => ExperimentConfig.Parse(File(text), "ft.json");
        garbage.Should().Throw<ArgumentException>().WithMessage("ft.json: init: * is not an IlgpuVit checkpoint*");
        ExperimentConfig.Parse(File(_folder.File("later.safetensors")), "ft.json", checkInit: false).Init.Should().EndWith("later.safetensors",
            "a committed grid may name a checkpoint another config has yet to train");
        var atRun = () => ExperimentConfig.Parse(File(_folder.File("later.safetensors")), "ft.json", checkInit: false).CheckInit();
        atRun.Should().Throw<ArgumentException>().WithMessage("ft: init: checkpoint '*later.safetensors' not found.");
        string other = Checkpoint("vit_mini_patch4_28");
        var wrong = () => ExperimentConfig.Parse("""{ "name": "ft" }""", "ft.json").WithInit(other);
        wrong.Should().Throw<ArgumentException>().WithMessage("--init: * holds a vit_mini_patch4_28 (28 px, patch 4, width 128, depth 6), not the experiment's vit_micro_patch4_28*");
    }
}
