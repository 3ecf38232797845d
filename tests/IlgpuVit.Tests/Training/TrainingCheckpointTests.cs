// Training checkpoints: parameters and optimizer state round-trip exactly, and a load into the wrong
// architecture or from a file missing a tensor is refused naming the difference. (Resuming a run from
// one is TrainerTests'; non-finite values are NonFiniteWeightsTests'.)
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public class TrainingCheckpointTests
{
    [Fact]
    public void Loading_a_checkpoint_into_another_architecture_names_the_difference()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "ckpt.safetensors");
        using (var model = new VisionTransformer(TinyRun.Config, Backends.Cpu)) TrainingCheckpoint.Save(path, model);
        using var other = new VisionTransformer(TinyRun.Config with { Depth = 2 }, Backends.Cpu);
        var act = () => TrainingCheckpoint.Load(path, other);
        act.Should().Throw<SafeTensorsFormatException>().WithMessage("*ckpt.safetensors*Depth = 1*");
    }

    [Fact]
    public void Loading_weights_that_lack_a_tensor_names_it()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "weights.safetensors");
        using var model = new VisionTransformer(TinyRun.Config, Backends.Cpu);
        var tensors = model.Parameters().Where(p => p.Name != "blocks.0.mlp.fc2.bias")
            .Select(p => new SafeTensor(p.Name!, p.Shape.Dims.ToArray(), p.Value.ToArray()));
        SafeTensors.Write(path, tensors, new Dictionary<string, string>
        {
            ["format"] = "ilgpuvit-checkpoint-1", ["model"] = System.Text.Json.JsonSerializer.Serialize(TinyRun.Config),
        });
        var act = () => TrainingCheckpoint.Load(path, model);
        act.Should().Throw<SafeTensorsFormatException>().WithMessage("*'blocks.0.mlp.fc2.bias' is missing*");
    }

    [Fact]
    public void A_checkpoint_round_trips_parameters_and_optimizer_state()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "ckpt.safetensors");
        using var trainer = TinyRun.Trainer(Backends.Cpu, out var model);
        using (model)
        {
            _ = trainer.RunEpoch().Take(2).ToList();     // two steps into epoch 0
            TrainingCheckpoint.Save(path, model, trainer.Optimizer, trainer.Options);
            using var trainer2 = TinyRun.Trainer(Backends.Cpu, out var model2);
            using (model2)
            {
                TrainingCheckpoint.Load(path, model2, trainer2.Optimizer);
                foreach (var (p, q) in model.Parameters().Zip(model2.Parameters())) q.Value.ToArray().Should().Equal(p.Value.ToArray(), p.Name);
                foreach (var (s, t) in trainer.Optimizer.State().Zip(trainer2.Optimizer.State())) t.Value.ToArray().Should().Equal(s.Value.ToArray(), s.Name);
                trainer2.Optimizer.StepCount.Should().Be(2);
            }
        }
    }
}
