// Data-parallel training equals single-process training (docs/distributed.md): 2 members with 64 images
// each give the losses, gradient norms, gradients and parameters of 1 process with 128 images, for 20
// steps, with AdamW and SGD, with and without token reduction, and (whole runs) with GAS. Tolerance: the
// members' gradients are sums over 64 images that one process sums over 128 in another order, so the
// averaged gradient differs in the last bits (about 1e-7 relative); over 20 steps that stays below
// 1e-5 relative for the losses and 1e-4 relative (in the max norm) for gradients and parameters.
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Distributed;

public class DataParallelTests
{
    private sealed record Outcome(float[] Losses, float[] Norms, float[][] Grads, float[][] Parameters);

    private static TrainingOptions Options(string optimizer) => TinyRunOptions(optimizer);

    private static TrainingOptions TinyRunOptions(string optimizer) => Training.TinyRun.Options(optimizer) with
    {
        Epochs = 5, BatchSize = 128, LearningRate = optimizer == "sgd" ? 0.2f : 5e-3f, ClipNorm = 0.5f,
    };

    /// <summary>20 steps of the tiny model on 512 images (4 global batches an epoch) as member <paramref name="comm"/>.</summary>
    private static Outcome Train(Device device, ICommunicator comm, string optimizer, string method)
    {
        var options = Options(optimizer);
        using var model = new VisionTransformer(Training.TinyRun.Config, device, options.Seed);
        ReductionSpec.Parse(method)?.Apply(model);
        using var trainer = new Trainer(model, Training.TinyRun.Data(512), options, Normalization.Identity(3), comm);
        trainer.BroadcastState();
        var losses = new List<float>();
        var norms = new List<float>();
        while (!trainer.Finished)
            foreach (var s in trainer.RunEpoch()) { losses.Add(s.Loss); norms.Add(s.GradNorm); }
        var p = trainer.Optimizer.Parameters;
        return new Outcome([.. losses], [.. norms], p.Select(v => v.Grad!.ToArray()).ToArray(), p.Select(v => v.Value.ToArray()).ToArray());
    }

    private static Outcome[] TrainInProcess(int members, string optimizer, string method)
    {
        var group = new InProcessGroup(members);
        var outcomes = new Outcome[members];
        var errors = new Exception?[members];
        var threads = Enumerable.Range(0, members).Select(r => new Thread(() =>
        {
            try
            {
                using var device = Device.Open("cpu");
                outcomes[r] = Train(device, group.Members[r], optimizer, method);
            }
            catch (Exception e) { errors[r] = e; group.Fail(r, e); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        errors.Should().OnlyContain(e => e == null);
        return outcomes;
    }

    /// <summary>The largest |a - b| over the largest |a|: a relative error in the max norm.</summary>
    private static double Relative(float[] a, float[] b)
    {
        double scale = Math.Max(1e-30, a.Max(x => Math.Abs((double)x)));
        return a.Zip(b, (x, y) => Math.Abs((double)x - y)).DefaultIfEmpty(0).Max() / scale;
    }

    [Theory]
    [InlineData("adamw", "none")]
    [InlineData("sgd", "none")]
    [InlineData("adamw", "topk:rate=0.3")]
    [InlineData("sgd", "tome:r=1")]
    public void Two_members_of_64_equal_one_process_of_128_for_20_steps(string optimizer, string method)
    {
        var one = Train(Backends.Cpu, SingleProcess.Instance, optimizer, method);
        var two = TrainInProcess(2, optimizer, method);
        one.Losses.Should().HaveCount(20);
        for (int r = 0; r < 2; r++)
        {
            two[r].Losses.Should().HaveCount(20);
            for (int s = 0; s < 20; s++)
            {
                two[r].Losses[s].Should().BeApproximately(one.Losses[s], 1e-5f * Math.Abs(one.Losses[s]), $"loss of step {s + 1} on rank {r}");
                two[r].Norms[s].Should().BeApproximately(one.Norms[s], 1e-4f * one.Norms[s], $"gradient norm of step {s + 1} on rank {r}");
            }
            for (int i = 0; i < one.Parameters.Length; i++)
            {
                Relative(one.Grads[i], two[r].Grads[i]).Should().BeLessThan(1e-4, $"gradient {i} on rank {r}");
                Relative(one.Parameters[i], two[r].Parameters[i]).Should().BeLessThan(1e-4, $"parameter {i} on rank {r}");
            }
        }
        for (int i = 0; i < one.Parameters.Length; i++)
            two[0].Parameters[i].Should().Equal(two[1].Parameters[i], "every member takes the same step, bit for bit");
    }

    [Fact]
    public void A_batch_that_does_not_split_across_the_members_is_refused()
    {
        var group = new InProcessGroup(3);
        using var model = new VisionTransformer(Training.TinyRun.Config, Backends.Cpu, 1);
        var act = () => new Trainer(model, Training.TinyRun.Data(512), Options("sgd"), Normalization.Identity(3), group.Members[0]);
        act.Should().Throw<ArgumentException>().WithMessage("*128 images does not split evenly across 3 ranks*");
    }

    [Fact]
    public void Device_groups_are_spelt_as_a_cpu_count_or_a_list()
    {
        Device.Group("cpu:2").Should().Equal("cpu-1", "cpu-1");
        Device.Group("cuda:0,cuda:1").Should().Equal("cuda:0", "cuda:1");
        Device.Group("cpu").Should().BeNull();
        Device.Group("cuda:1").Should().BeNull();
        ((Action)(() => Device.Group("cuda:0,,cuda:1"))).Should().Throw<ArgumentException>();
        ((Action)(() => Device.Group("cuda:0,cuda:0"))).Should().Throw<ArgumentException>();
        using var one = Device.Open("cpu-1");
        one.Info.Spec.Should().Be("cpu-1");
    }
}
