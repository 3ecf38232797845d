// `ilgpuvit predict` end to end on generated files (PretrainedFixtures): the top-5 probabilities equal the
// softmax of logits computed image by image from a model loaded by WeightImporter (the configuration read
// from the weights' metadata, as TrainingCheckpoint writes it), class names from a labels file in each
// accepted form, --json, a checkpoint with its data set's names; and each bad input exits 1 with one line
// naming it (bad image, missing or malformed labels file, class count mismatch, missing configuration).
// Predict writes nothing: the folder's files are unchanged afterwards. These swap Console.Out and
// Console.Error, so they run beside nothing else.
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Cli;
using IlgpuVit.Experiments;
using IlgpuVit.Images;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Images;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Cli;

[Collection(nameof(SwapsConsole))]
public class PredictCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _weights, _images;

    public PredictCommandTests()
    {
        _weights = PretrainedFixtures.Weights(_folder.File("micro.safetensors"));
        _images = PretrainedFixtures.ImageFolder(_folder.File("val"));
    }

    public void Dispose() => _folder.Dispose();

    private string Image(string name) => Path.Combine(_images, name);

    private static (int Code, string Output, string Error) Predict(params string[] args) =>
        PretrainedFixtures.Invoke(PredictCommand.Create(), ["predict", "--device", "cpu", .. args]);

    [Fact]
    public void Top_five_probabilities_are_the_softmax_of_the_models_logits()
    {
        string[] images = [Image("a/1.png"), Image("b/2.png"), Image("c/2.png")];
        var (code, output, error) = Predict(["--weights", _weights, "--json", .. images]);
        code.Should().Be(0, error);
        var report = JsonDocument.Parse(output).RootElement;
        report.GetProperty("model").GetString().Should().Be(PretrainedFixtures.Arch, "the configuration comes from the weights' metadata");

        using var device = Device.Open("cpu");
        using var model = new VisionTransformer(ModelRegistry.Get(PretrainedFixtures.Arch), device);
        WeightImporter.Import(_weights, model);
        var preprocessor = new ImagePreprocessor(new PreprocessOptions { ResizeTo = 35, Crop = 32 });   // augreg at 32 px
        for (int i = 0; i < images.Length; i++)
        {
            using var input = device.FromArray(preprocessor.Preprocess(images[i]), 1, 3, 32, 32);
            using var tape = Tape.NoGrad();
            var logits = model.Forward(tape, input).Value.ToArray().Select(v => (double)v).ToArray();
            double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
            var expected = Enumerable.Range(0, 10).OrderByDescending(c => logits[c]).ThenBy(c => c).Take(5).ToArray();
            var top = report.GetProperty("images")[i].GetProperty("top").EnumerateArray().ToArray();
            top.Select(t => t.GetProperty("index").GetInt32()).Should().Equal(expected, images[i]);
            for (int k = 0; k < 5; k++)
                top[k].GetProperty("probability").GetDouble().Should().BeApproximately(Math.Exp(logits[expected[k]] - max) / sum, 1e-5);
        }
    }

    [Fact]
    public void Labels_files_name_the_classes_in_every_accepted_form()
    {
        var names = Enumerable.Range(0, 10).Select(i => $"class {i}").ToArray();
        string lines = _folder.File("labels.txt"), array = _folder.File("labels.json"), index = _folder.File("index.json");
        File.WriteAllLines(lines, names);
        File.WriteAllText(array, JsonSerializer.Serialize(names));
        File.WriteAllText(index, JsonSerializer.Serialize(names.Select((n, i) => (i, n)).ToDictionary(p => p.i.ToString(), p => new[] { $"n{p.i}", p.n })));
        foreach (var labels in new[] { lines, array, index })
        {
            var (code, output, error) = Predict("--weights", _weights, "--labels", labels, Image("a/1.png"));
            code.Should().Be(0, error);
            output.Should().Contain("class ").And.Contain("a/1.png");
        }
        Prediction.ReadLabels(index).Should().Equal(names);
    }

    [Fact]
    public void A_checkpoint_predicts_with_its_data_sets_class_names()
    {
        string checkpoint = _folder.File("cifar.safetensors");
        using (var device = Device.Open("cpu"))
        using (var model = new VisionTransformer(ModelRegistry.Get(PretrainedFixtures.Arch), device, seed: 3))
            TrainingCheckpoint.Save(checkpoint, model, run: """{"Data":"cifar10"}""");
        var (code, output, error) = Predict("--checkpoint", checkpoint, "--json", "--top", "3", Image("b/1.png"));
        code.Should().Be(0, error);
        var top = JsonDocument.Parse(output).RootElement.GetProperty("images")[0].GetProperty("top");
        top.GetArrayLength().Should().Be(3);
        top.EnumerateArray().Select(t => t.GetProperty("name").GetString()).Should().OnlyContain(n => IlgpuVit.Data.Cifar10.ClassNames.Contains(n!));
    }

    [Fact]
    public void Bad_inputs_exit_1_with_a_line_naming_them()
    {
        string wrongCount = _folder.File("three.txt"), binary = _folder.File("labels.bin"), badJson = _folder.File("bad.json");
        File.WriteAllLines(wrongCount, ["x", "y", "z"]);
        File.WriteAllBytes(binary, [1, 0, 2, 0]);
        File.WriteAllText(badJson, """{"0": 3}""");
        string bare = _folder.File("bare.safetensors");
        SafeTensors.Write(bare, [new SafeTensor("head.weight", [10, 64], new float[640])]);
        var cases = new (string[] Args, string Message)[]
        {
            (["--weights", _weights, Image("b/z.png")], "z.png"),
            (["--weights", _weights, Image("nowhere.png")], "nowhere.png' does not exist"),
            (["--weights", _weights, _images], "is a folder"),
            (["--weights", _weights, "--labels", _folder.File("none.txt"), Image("a/1.png")], "Labels file"),
            (["--weights", _weights, "--labels", wrongCount, Image("a/1.png")], "names 3 classes but the model's head predicts 10"),
            (["--weights", _weights, "--labels", binary, Image("a/1.png")], "binary"),
            (["--weights", _weights, "--labels", badJson, Image("a/1.png")], "not a labels file"),
            (["--weights", bare, Image("a/1.png")], "carries no model configuration"),
            (["--weights", _weights, "--arch", "vit_nonesuch", Image("a/1.png")], "Unknown model 'vit_nonesuch'"),
            (["--weights", _weights, "--checkpoint", _weights, Image("a/1.png")], "exclusive"),
            (["--checkpoint", _weights, Image("a/1.png")], "does not record the data set"),
            (["--weights", _weights, "--method", "tome:q=1", Image("a/1.png")], "Bad reduction rate 'q=1'"),
            (["--weights", _weights, "--preprocess", "timm", Image("a/1.png")], "Unknown --preprocess 'timm'"),
            (["--weights", _weights, "--mean", "0.5,0.5", Image("a/1.png")], "--mean takes three numbers"),
            (["--weights", _weights, "--top", "0", Image("a/1.png")], "--top must be at least 1"),
        };
        var before = FileHashes.Of(_folder.Path);
        foreach (var (args, message) in cases)
        {
            var (code, output, error) = Predict(args);
            code.Should().Be(1, string.Join(' ', args) + output);
            error.Should().StartWith("error: ").And.Contain(message, string.Join(' ', args));
            error.Trim().Split('\n').Should().HaveCount(1);
        }
        FileHashes.Of(_folder.Path).Should().Equal(before, "predict writes nothing");
    }
}

/// <summary>`eval --weights` with a class map: each folder scored at its own index; bad map flags named.</summary>
[Collection(nameof(SwapsConsole))]
public class EvalClassMapTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_class_map_scores_folders_at_their_indices_and_bad_flags_are_named()
    {
        string weights = PretrainedFixtures.Weights(_folder.File("micro.safetensors"));
        string images = PretrainedFixtures.ImageFolder(_folder.File("val"));
        string map = _folder.File("map.json");
        File.WriteAllText(map, """{"a": 9, "b": 4, "c": 0}""");
        (int, string, string) Eval(params string[] extra) => PretrainedFixtures.Invoke(EvalCommand.Create(),
            ["eval", "--weights", weights, "--data", images, "--device", "cpu", "--latency-runs", "1", "--json", .. extra]);
        var (code, output, error) = Eval("--class-map", map);
        code.Should().Be(0, error);
        JsonDocument.Parse(output).RootElement.GetProperty("images").GetInt32().Should().Be(7);
        File.WriteAllText(map, """{"a": 10, "b": 4, "c": 0}""");
        Eval("--class-map", map).Item3.Should().Contain("The class map gives index 10 but the head").And.Contain("predicts 10 classes");
        Eval("--class-index-folders").Item3.Should().Contain("named by their class index").And.Contain("'a'");
        Eval("--class-map", map, "--class-index-folders").Item3.Should().Contain("exclusive");
        Eval("--class-map", _folder.File("none.json")).Item3.Should().Contain("none.json' does not exist");
    }
}
