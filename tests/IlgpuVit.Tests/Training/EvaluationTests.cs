// The one evaluation loop: batches from any source give what the data-set overload gives; Compare runs
// every reduction variant in one pass exactly as if each were evaluated alone, and leaves the model's
// reducers as they were; top-5 scores on the host and agrees with the device's top-1 and loss.
using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public class EvaluationTests
{
    private static readonly VitConfig Config = new("evaluation-test", 8, 2, 3, 8, 2, 2, 16, 3);     // 16 patches, two blocks

    private static IEnumerable<Batch> Batches(ImageDataset data, int batchSize) =>
        new DataLoader(data, new LoaderOptions { BatchSize = batchSize, Normalization = Normalization.Identity(3) }).Epoch(0);

    [Fact]
    public void Batches_from_any_loader_evaluate_as_the_data_set_does()
    {
        var data = TinyRun.Data(37);
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 4);
        var fromData = Evaluation.Evaluate(model, data, Normalization.Identity(3), batchSize: 16);
        var fromBatches = Evaluation.Evaluate(model, Batches(data, 16));
        (fromBatches.Accuracy, fromBatches.Loss, fromBatches.Images, fromBatches.MacsPerImage).Should()
            .Be((fromData.Accuracy, fromData.Loss, 37, fromData.MacsPerImage));
        fromBatches.Top5.Should().BeNull("top-5 was not asked for");
    }

    [Fact]
    public void Compare_evaluates_each_variant_as_alone_in_one_pass_and_restores_the_reducers()
    {
        var data = TinyRun.Data(20);
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 4);
        string[] specs = ["none", "tome:r=3", "topk:rate=0.25"];
        var variants = specs.Select(spec =>
        {
            ReductionMethod.Apply(model, spec);
            return model.Reducers;
        }).ToArray();
        var before = model.Reducers;
        int passes = 0;
        IEnumerable<Batch> Counted()
        {
            passes++;
            foreach (var batch in Batches(data, 8)) yield return batch;
        }

        var together = Evaluation.Compare(model, Counted(), variants);
        passes.Should().Be(1);
        model.Reducers.Should().Equal(before, "the model's own reducers come back");
        for (int v = 0; v < specs.Length; v++)
        {
            model.Reducers = variants[v];
            var alone = Evaluation.Evaluate(model, Batches(data, 8));
            (together[v].Accuracy, together[v].Loss, together[v].MacsPerImage).Should().Be((alone.Accuracy, alone.Loss, alone.MacsPerImage), specs[v]);
            together[v].TokensAfterLayer.Should().Equal(alone.TokensAfterLayer, specs[v]);
        }
        together[1].MacsPerImage.Should().BeLessThan(together[0].MacsPerImage, "ToMe merges tokens");
    }

    [Fact]
    public void Top_five_scores_on_the_host_and_agrees_with_the_device()
    {
        var data = TinyRun.Data(29);
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 6);
        var device = Evaluation.Evaluate(model, Batches(data, 8));
        var host = Evaluation.Evaluate(model, Batches(data, 8), topFive: true);
        host.Accuracy.Should().Be(device.Accuracy);
        host.Loss.Should().BeApproximately(device.Loss, 1e-5);
        host.Top5.Should().Be(1, "three classes are all in the top five");
        host.Images.Should().Be(29);
    }
}
