// The training loop: it learns, two runs with one seed give the same loss curve bit for bit, and a
// run resumed from a mid-epoch checkpoint continues that exact curve (model, optimizer state, step
// and data position all restored).
using FluentAssertions;
using IlgpuVit.Nn;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public class TrainerTests
{
    private static float[] Curve(Trainer trainer, int steps)
    {
        var losses = new List<float>();
        while (losses.Count < steps && !trainer.Finished)
            foreach (var s in trainer.RunEpoch().Take(steps - losses.Count)) losses.Add(s.Loss);
        return [.. losses];
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void Training_lowers_the_loss_and_is_deterministic(string optimizer)
    {
        var options = TinyRun.Options(optimizer) with { Epochs = 6, LearningRate = optimizer == "sgd" ? 0.5f : 5e-3f };
        float[] Run()
        {
            using var trainer = TinyRun.Trainer(Backends.Cpu, out var model, options);
            using (model) return Curve(trainer, 24);
        }
        var a = Run();
        var b = Run();
        a.Should().Equal(b, "the same seed on the same backend gives the same curve");
        a.TakeLast(4).Average().Should().BeLessThan(a.Take(4).Average() * 0.8f, "training must lower the loss");
    }

    [Fact]
    public void A_run_resumed_from_a_mid_epoch_checkpoint_repeats_the_uninterrupted_curve()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "ckpt.safetensors");
        float[] full;
        using (var trainer = TinyRun.Trainer(Backends.Cpu, out var model))
        using (model)
            full = Curve(trainer, 8);

        float[] head;
        using (var trainer = TinyRun.Trainer(Backends.Cpu, out var model))
        using (model)
        {
            head = Curve(trainer, 3);            // stop inside epoch 0
            TrainingCheckpoint.Save(path, model, trainer.Optimizer, trainer.Options);
        }
        float[] tail;
        var info = TrainingCheckpoint.ReadInfo(path);
        info.Step.Should().Be(3);
        info.Options.Should().Be(TinyRun.Options());
        using (var trainer = TinyRun.Trainer(Backends.Cpu, out var model, info.Options))
        using (model)
        {
            TrainingCheckpoint.Load(path, model, trainer.Optimizer);
            (trainer.Epoch, trainer.BatchInEpoch).Should().Be((0, 3));
            tail = Curve(trainer, 5);
        }
        head.Concat(tail).Should().Equal(full);
    }

    [Fact]
    public void A_loss_that_blows_up_from_finite_weights_is_blamed_on_the_learning_rate()
    {
        using var trainer = TinyRun.Trainer(Backends.Cpu, out var model, TinyRun.Options() with { LearningRate = 1e30f, ClipNorm = 0 });
        using (model)
        {
            var act = () => Curve(trainer, 8);
            var error = act.Should().Throw<TrainingDivergedException>().Which;
            error.Step.Should().BeGreaterThan(1, "the first step starts from finite weights and a finite loss");
            error.Message.Should().Match($"Training diverged at step {error.Step}: the loss blew up at step {error.Step} (loss *, gradient norm *) " +
                                         "though the weights were finite: try a lower learning rate or gradient clipping.");
            error.WeightsWereNonFinite.Should().BeFalse();
            error.NonFiniteWeight.Should().BeNull();
        }
    }

    [Fact]
    public void Weights_that_hold_NaN_before_the_first_step_are_named_and_not_blamed_on_the_learning_rate()
    {
        using var trainer = TinyRun.Trainer(Backends.Cpu, out var model);
        using (model)
        {
            var qkv = model.Parameters().Single(p => p.Name == "blocks.0.attn.qkv.weight");
            var values = qkv.Value.ToArray();
            values[17] = float.NaN;
            values[40] = float.NaN;
            qkv.Value.CopyFrom(values);
            var act = () => Curve(trainer, 1);
            var error = act.Should().Throw<TrainingDivergedException>().Which;
            error.Message.Should().Be("Training diverged at step 1: the weights were already non-finite before step 1 " +
                                      "(tensor 'blocks.0.attn.qkv.weight' holds 2 non-finite values (first: NaN at index 17)): " +
                                      "the model was loaded or initialised with NaN/Inf values, not a learning-rate problem.");
            error.WeightsWereNonFinite.Should().BeTrue();
        }
    }

    [Fact]
    public void Weights_that_turn_non_finite_after_a_step_are_blamed_on_that_update()
    {
        using var trainer = TinyRun.Trainer(Backends.Cpu, out var model);
        using (model)
        {
            Curve(trainer, 2);
            var head = model.Parameters().Single(p => p.Name == "head.bias");
            head.Value.CopyFrom([0f, float.PositiveInfinity, 0f]);
            var act = () => Curve(trainer, 1);
            act.Should().Throw<TrainingDivergedException>().Which.Message.Should().StartWith(
                "Training diverged at step 3: the weights became non-finite in the update of step 2 (tensor 'head.bias' holds 1 non-finite value " +
                "(first: +Inf at index 1)) though its loss and gradient norm were finite");
        }
    }

    [Fact]
    public void Huge_but_finite_weights_whose_squares_overflow_count_as_finite()
    {
        using var trainer = TinyRun.Trainer(Backends.Cpu, out var model, TinyRun.Options() with { ClipNorm = 0 });
        using (model)
        {
            var head = model.Parameters().Single(p => p.Name == "head.weight");
            head.Value.CopyFrom(head.Value.ToArray().Select(v => v * 1e37f).ToArray());
            var act = () => Curve(trainer, 1);
            act.Should().Throw<TrainingDivergedException>().Which.WeightsWereNonFinite.Should().BeFalse("1e37 squared overflows, yet every weight is finite");
        }
    }

    [Fact]
    public void Data_that_does_not_fit_the_model_is_refused()
    {
        using var model = new VisionTransformer(TinyRun.Config with { InChannels = 1 }, Backends.Cpu);
        var act = () => new Trainer(model, TinyRun.Data(), TinyRun.Options(), IlgpuVit.Data.Normalization.Identity(3));
        act.Should().Throw<ArgumentException>().WithMessage("*3x8x8*does not fit model tiny-test*");
    }
}

public class Cifar10EndToEndTests
{
    [Fact]
    public void A_model_trains_and_evaluates_on_files_in_the_cifar10_binary_format()
    {
        using var folder = new TempFolder();
        var random = new Random(2);
        foreach (var name in new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin" })
        {
            var labels = Enumerable.Range(0, 16).Select(i => (byte)(i % 10)).ToArray();
            var pixels = new byte[16 * 3072];
            random.NextBytes(pixels);
            IlgpuVit.Tests.Data.DataFiles.Write(folder.File(name), IlgpuVit.Tests.Data.DataFiles.CifarRecords(labels, pixels));
        }
        var (train, norm) = IlgpuVit.Data.DataSets.Load("cifar10", folder.Path, train: true);
        var (test, _) = IlgpuVit.Data.DataSets.Load("cifar10", folder.Path, train: false);
        train.Count.Should().Be(80);
        using var model = new VisionTransformer(ModelRegistry.Get("vit_micro_patch4_32"), Backends.Cpu);
        var augmentation = IlgpuVit.Data.DataSets.DefaultAugmentation("cifar10");
        using var trainer = new Trainer(model, train, new TrainingOptions
        {
            Epochs = 1, BatchSize = 16, CropPadding = augmentation.Padding, HorizontalFlip = augmentation.HorizontalFlip,
        }, norm);
        var steps = trainer.RunEpoch().ToList();
        steps.Should().HaveCount(5).And.OnlyContain(s => float.IsFinite(s.Loss) && s.Images == 16);
        var result = Evaluation.Evaluate(model, test, norm);
        result.Images.Should().Be(16);
        result.Accuracy.Should().BeInRange(0, 1);
    }
}
