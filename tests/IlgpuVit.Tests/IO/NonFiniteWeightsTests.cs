// Weights holding NaN or ±Inf: the scan counts them and names the first; TrainingCheckpoint.Load and
// WeightImporter refuse such a file naming the tensor, before writing anything (the NaN sits in the
// head's weight, loaded after all but one parameter, so a loader that wrote as it checked would have
// changed the others), and
// with AllowNonFinite load it and report the tensors.
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Tests.Support;
using IlgpuVit.Tests.Training;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.IO;

public sealed class NonFiniteWeightsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static List<float[]> Values(VisionTransformer model) => model.Parameters().Select(p => p.Value.ToArray()).ToList();

    private static void ExpectUnchanged(VisionTransformer model, List<float[]> before)
    {
        var after = Values(model);
        for (int i = 0; i < before.Count; i++) after[i].Should().Equal(before[i], "a refused load writes nothing");
    }

    /// <summary>The last parameter loaded with room for the planted values (head.weight: head.bias has 3).</summary>
    private static string Late(VisionTransformer model) => model.Parameters().Last(p => p.Value.Length > 8).Name!;

    /// <summary>A checkpoint of the tiny model (seed 1) and a model of the same architecture with other weights (seed 2).</summary>
    private (string Path, VisionTransformer Target) CheckpointAndTarget()
    {
        string path = _folder.File("clean.safetensors");
        using (var source = new VisionTransformer(TinyRun.Config, Backends.Cpu, seed: 1)) TrainingCheckpoint.Save(path, source);
        var target = new VisionTransformer(TinyRun.Config, Backends.Cpu, seed: 2);
        using (var source = new VisionTransformer(TinyRun.Config, Backends.Cpu, seed: 1))
            Values(target)[0].Should().NotEqual(Values(source)[0], "the target's weights differ from the file's, so a write would show");
        return (path, target);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(197)]
    public void Find_counts_the_non_finite_values_and_names_the_first(int length)
    {
        var values = Enumerable.Range(0, length).Select(i => i % 2 == 0 ? 3e38f : -1.5f).ToArray();
        NonFiniteTensor.Find("x", values).Should().BeNull("huge values are finite");

        values[^1] = float.NaN;     // in the scalar tail of the vector loop for most lengths
        NonFiniteTensor.Find("x", values).Should().Be(new NonFiniteTensor("x", 1, length - 1, float.NaN));
        values[length / 2] = float.PositiveInfinity;
        values[0] = float.NegativeInfinity;
        var found = NonFiniteTensor.Find("x", values)!;
        (found.Count, found.FirstIndex, found.FirstValue).Should().Be((new[] { 0, length / 2, length - 1 }.Distinct().Count(), 0, float.NegativeInfinity));
        found.ToString().Should().Be($"tensor 'x' holds {found.Count} non-finite value{(found.Count == 1 ? "" : "s")} (first: -Inf at index 0)");
    }

    [Fact]
    public void A_checkpoint_with_a_NaN_is_refused_naming_the_tensor_and_leaves_the_model_unchanged()
    {
        var (clean, target) = CheckpointAndTarget();
        using (target)
        {
            string last = Late(target);
            string path = CorruptWeights.Copy(clean, _folder.File("nan.safetensors"), last, (5, float.NaN), (2, float.PositiveInfinity));
            var before = Values(target);
            var load = () => TrainingCheckpoint.Load(path, target);
            var error = load.Should().Throw<NonFiniteWeightsException>().Which;
            error.Message.Should().Be($"{path}: tensor '{last}' holds 2 non-finite values (first: +Inf at index 2); the weights are corrupt. " +
                                      "Pass --allow-nonfinite (AllowNonFinite in code) to load them anyway.");
            error.Tensors.Should().ContainSingle().Which.Name.Should().Be(last);
            ExpectUnchanged(target, before);
        }
    }

    [Fact]
    public void Non_finite_optimizer_state_is_refused_before_the_parameters_are_written()
    {
        string clean = _folder.File("trained.safetensors");
        using (var trainer = TinyRun.Trainer(Backends.Cpu, out var model))
        using (model)
        {
            foreach (var _ in trainer.RunEpoch().Take(2)) { }
            TrainingCheckpoint.Save(clean, model, trainer.Optimizer, trainer.Options);
        }
        using var resumed = TinyRun.Trainer(Backends.Cpu, out var target, TinyRun.Options() with { Seed = 9 });
        using (target)
        {
            string state = resumed.Optimizer.State().Last().Name;
            string path = CorruptWeights.Copy(clean, _folder.File("nan-state.safetensors"), state, (0, float.NegativeInfinity));
            var before = Values(target);
            var load = () => TrainingCheckpoint.Load(path, target, resumed.Optimizer);
            load.Should().Throw<NonFiniteWeightsException>().WithMessage($"*tensor '{state}' holds 1 non-finite value (first: -Inf at index 0)*");
            ExpectUnchanged(target, before);
            resumed.Optimizer.StepCount.Should().Be(0);
            resumed.Optimizer.State().Last().Value.ToArray().Should().OnlyContain(v => v == 0f, "the state is not written either");
        }
    }

    [Fact]
    public void AllowNonFinite_loads_the_checkpoint_and_reports_the_tensors()
    {
        var (clean, target) = CheckpointAndTarget();
        using (target)
        {
            var names = target.Parameters().Select(p => p.Name!).ToList();
            int late = names.IndexOf(Late(target));
            string path = CorruptWeights.Copy(clean, _folder.File("nan.safetensors"), names[late], (5, float.NaN));
            TrainingCheckpoint.Load(clean, target).NonFinite.Should().BeEmpty("the clean file is finite");

            var info = TrainingCheckpoint.Load(path, target, allowNonFinite: true);
            info.NonFinite.Should().Equal(new NonFiniteTensor(names[late], 1, 5, float.NaN));
            using var file = SafeTensorsFile.Open(clean);
            var loaded = Values(target);
            float.IsNaN(loaded[late][5]).Should().BeTrue();
            loaded[late].Where((_, i) => i != 5).Should().Equal(file.ReadSingles(names[late]).Where((_, i) => i != 5));
            loaded[0].Should().Equal(file.ReadSingles(names[0]));
        }
    }

    [Fact]
    public void The_importer_refuses_non_finite_weights_naming_the_file_key_and_loads_them_when_allowed()
    {
        var (clean, target) = CheckpointAndTarget();
        using (target)
        {
            string last = Late(target);
            string path = CorruptWeights.Copy(clean, _folder.File("inf.safetensors"), last, (1, float.PositiveInfinity));
            var before = Values(target);
            var import = () => WeightImporter.Import(path, target);
            import.Should().Throw<NonFiniteWeightsException>()
                .WithMessage($"{path}: tensor '{last}' holds 1 non-finite value (first: +Inf at index 1); the weights are corrupt.*--allow-nonfinite*");
            ExpectUnchanged(target, before);

            var report = WeightImporter.Import(path, target, new WeightImportOptions { AllowNonFinite = true });
            report.NonFinite.Should().Equal(new NonFiniteTensor(last, 1, 1, float.PositiveInfinity));
            report.ToString().Should().Contain($"Loaded although not finite: tensor '{last}' holds 1 non-finite value");
            float.IsPositiveInfinity(target.Parameters().Single(p => p.Name == last).Value.ToArray()[1]).Should().BeTrue();
            WeightImporter.Import(clean, target).NonFinite.Should().BeEmpty();
        }
    }
}
