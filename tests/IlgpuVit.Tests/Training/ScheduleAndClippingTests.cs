using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public class ScheduleAndClippingTests
{
    [Fact]
    public void Cosine_schedule_warms_up_linearly_then_decays_to_the_minimum()
    {
        var s = new CosineSchedule(1f, 4, 14, 0.1f);
        s.At(0).Should().BeApproximately(0.25f, 1e-6f);
        s.At(3).Should().BeApproximately(1f, 1e-6f);
        s.At(4).Should().BeApproximately(1f, 1e-6f);
        s.At(9).Should().BeApproximately(0.55f, 1e-6f, "halfway down the cosine is the midpoint");
        s.At(14).Should().BeApproximately(0.1f, 1e-6f);
        s.At(100).Should().BeApproximately(0.1f, 1e-6f);
    }

    [Fact]
    public void Global_norm_covers_every_gradient_and_clipping_scales_to_the_maximum()
    {
        var device = Backends.Cpu;
        var a = TestData.Uniform(1, 197, 2f);
        var b = TestData.Uniform(2, 33, 3f);
        using var pa = new Variable(Tensor<float>.FromArray(device, new float[197], 197), true, "a");
        using var pb = new Variable(Tensor<float>.FromArray(device, new float[33], 33), true, "b");
        using var pc = new Variable(Tensor<float>.FromArray(device, new float[5], 5), true, "c");   // no gradient: counts as zero
        using (var tape = new Tape())
        {
            var y = tape.Add(pa, pa);       // dy/da = 2 * w
            tape.Backward(y, Tensor<float>.FromArray(device, a, 197));
        }
        using (var tape = new Tape())
        {
            var y = tape.Add(pb, pb);
            tape.Backward(y, Tensor<float>.FromArray(device, b, 33));
        }
        double expected = Math.Sqrt(a.Concat(b).Sum(v => 4.0 * v * v));
        Variable[] all = [pa, pb, pc];
        GradientClipping.GlobalNorm(all).Should().BeApproximately((float)expected, (float)expected * 1e-5f);
        float before = GradientClipping.ClipByGlobalNorm(all, 1f);
        before.Should().BeApproximately((float)expected, (float)expected * 1e-5f);
        GradientClipping.GlobalNorm(all).Should().BeApproximately(1f, 1e-4f);
        GradientClipping.ClipByGlobalNorm(all, 10f).Should().BeApproximately(1f, 1e-4f, "below the maximum nothing changes");
        GradientClipping.GlobalNorm(all).Should().BeApproximately(1f, 1e-4f);
    }

    [Fact]
    public void AdamW_decays_matrices_only()
    {
        var device = Backends.Cpu;
        using var w = new Variable(device.Zeros(3, 4), true, "blocks.0.attn.qkv.weight");
        using var bias = new Variable(device.Zeros(3), true, "blocks.0.attn.qkv.bias");
        using var pos = new Variable(device.Zeros(1, 5, 4), true, "pos_embed");
        using var cls = new Variable(device.Zeros(1, 1, 4), true, "cls_token");
        AdamW.Decays(w).Should().BeTrue();
        AdamW.Decays(bias).Should().BeFalse();
        AdamW.Decays(pos).Should().BeFalse();
        AdamW.Decays(cls).Should().BeFalse();
    }

    [Fact]
    public void Bad_training_options_are_named()
    {
        var act = () => new TrainingOptions { Optimizer = "lion" }.Validate();
        act.Should().Throw<ArgumentException>().WithMessage("*optimizer must be 'adamw' or 'sgd', got 'lion'*");
        act = () => new TrainingOptions { LabelSmoothing = 1f }.Validate();
        act.Should().Throw<ArgumentException>().WithMessage("*label smoothing*");
    }
}
