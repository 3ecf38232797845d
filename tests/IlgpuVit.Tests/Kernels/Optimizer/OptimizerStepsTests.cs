using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Optimizer;

public class OptimizerStepsTests
{
    private static readonly int[] Lengths = [1, 7, 31, 33, 197, 64 * 64, 3 * Ops.ElementwiseChunk + 5];

    /// <summary>torch.optim.AdamW, written from its documentation, in float64, for several steps.</summary>
    private static double[] AdamWReference(float[] p0, float[][] grads, double lr, double b1, double b2, double eps, double wd)
    {
        var p = p0.ToDouble();
        var m = new double[p.Length];
        var v = new double[p.Length];
        for (int t = 1; t <= grads.Length; t++)
            for (int i = 0; i < p.Length; i++)
            {
                double g = grads[t - 1][i];
                p[i] -= lr * wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mhat = m[i] / (1 - Math.Pow(b1, t)), vhat = v[i] / (1 - Math.Pow(b2, t));
                p[i] -= lr * mhat / (Math.Sqrt(vhat) + eps);
            }
        return p;
    }

    /// <summary>torch.optim.SGD (dampening 0), in float64, for several steps.</summary>
    private static double[] SgdReference(float[] p0, float[][] grads, double lr, double momentum, double wd, bool nesterov)
    {
        var p = p0.ToDouble();
        var buffer = new double[p.Length];
        for (int t = 0; t < grads.Length; t++)
            for (int i = 0; i < p.Length; i++)
            {
                double g = grads[t][i] + wd * p[i];
                buffer[i] = t == 0 ? g : momentum * buffer[i] + g;
                p[i] -= lr * (nesterov ? g + momentum * buffer[i] : buffer[i]);
            }
        return p;
    }

    private static float[][] Gradients(int steps, int n) =>
        Enumerable.Range(0, steps).Select(s => TestData.Uniform(100 + s, n, s == 1 ? 1e-3f : 1f)).ToArray();

    private static float[] RunAdamW(Device device, float[] p0, float[][] grads, float lr, float b1, float b2, float eps, float wd)
    {
        using var p = device.FromArray(p0, p0.Length);
        using var m = device.Zeros(p0.Length);
        using var v = device.Zeros(p0.Length);
        using var g = device.Zeros(p0.Length);
        for (int t = 0; t < grads.Length; t++)
        {
            g.CopyFrom(grads[t]);
            Ops.AdamWStep(p, g, m, v, lr, b1, b2, eps, wd, t + 1);
        }
        return p.ToArray();
    }

    private static float[] RunSgd(Device device, float[] p0, float[][] grads, float lr, float momentum, float wd, bool nesterov)
    {
        using var p = device.FromArray(p0, p0.Length);
        using var buffer = device.FromArray(TestData.Uniform(9, p0.Length), p0.Length);   // garbage: the first step must ignore it
        using var g = device.Zeros(p0.Length);
        for (int t = 0; t < grads.Length; t++)
        {
            g.CopyFrom(grads[t]);
            Ops.SgdStep(p, g, buffer, lr, momentum, wd, nesterov, firstStep: t == 0);
        }
        return p.ToArray();
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void AdamW_matches_the_torch_update_in_float64_over_several_steps(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var n in Lengths)
        {
            var p0 = TestData.Uniform(n, n, 2f);
            var grads = Gradients(4, n);
            foreach (var (lr, wd) in new[] { (1e-3f, 0.05f), (0.1f, 0f) })
                Check.Close(RunAdamW(device, p0, grads, lr, 0.9f, 0.999f, 1e-8f, wd), AdamWReference(p0, grads, lr, 0.9, 0.999, 1e-8, wd),
                    1e-5, 1e-5 * lr * 10, $"AdamW n {n} lr {lr} wd {wd}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Sgd_matches_the_torch_update_in_float64_with_and_without_nesterov(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var n in Lengths)
        {
            var p0 = TestData.Uniform(n, n, 2f);
            var grads = Gradients(3, n);
            foreach (var (momentum, wd, nesterov) in new[] { (0.9f, 5e-4f, false), (0.9f, 5e-4f, true), (0f, 0f, false) })
                Check.Close(RunSgd(device, p0, grads, 0.1f, momentum, wd, nesterov), SgdReference(p0, grads, 0.1, momentum, wd, nesterov),
                    1e-5, 1e-6, $"SGD n {n} momentum {momentum} nesterov {nesterov}");
        }
    }

    [Fact]
    public void Gpu_launch_geometry_matches_reference_on_the_group_simulator()
    {
        var device = Backends.GpuSimulator;
        int n = 301;
        var p0 = TestData.Uniform(1, n, 2f);
        var grads = Gradients(3, n);
        Check.Close(RunAdamW(device, p0, grads, 1e-2f, 0.9f, 0.99f, 1e-8f, 0.1f), AdamWReference(p0, grads, 1e-2, 0.9, 0.99, 1e-8, 0.1), 1e-5, 1e-6, "AdamW");
        Check.Close(RunSgd(device, p0, grads, 0.1f, 0.9f, 1e-4f, true), SgdReference(p0, grads, 0.1, 0.9, 1e-4, true), 1e-5, 1e-6, "SGD");
    }

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        int n = 2 * Ops.ElementwiseChunk + 21;

        void Compare<TUpdate>(TUpdate update) where TUpdate : struct, IParameterUpdate
        {
            var tensors = Enumerable.Range(0, 2).Select(_ => new[]
            {
                device.FromArray(TestData.Uniform(1, n, 2f), n), device.FromArray(TestData.Uniform(2, n), n),
                device.FromArray(TestData.Uniform(3, n), n), device.FromArray(TestData.Uniform(4, n, 1f).Select(Math.Abs).ToArray(), n),
            }).ToArray();
            var (fast, twin) = (tensors[0], tensors[1]);
            Ops.UpdateParameterKernel(0, fast[0].View, fast[1].View, fast[2].View, fast[3].View, n, n, update);
            Ops.UpdateParameterChunkPortable(twin[0].View, twin[1].View, twin[2].View, twin[3].View, 0, n, update);
            for (int k = 0; k < 4; k++)
                Check.Close(fast[k].ToArray(), twin[k].ToArray().ToDouble(), 1e-6, 1e-7, $"{typeof(TUpdate).Name} tensor {k}");
            foreach (var t in tensors.SelectMany(t => t)) t.Dispose();
        }

        Compare(new AdamWUpdate(0.999f, 0.9f, 0.999f, 1e-2f, 1.3f, 1e-8f));
        Compare(new SgdUpdate(0.1f, 0.9f, 1e-3f, 1, 0));
        Compare(new SgdUpdate(0.1f, 0.9f, 1e-3f, 0, 1));
    }

    [Fact]
    public void Rejects_mismatched_state_and_bad_hyperparameters()
    {
        var device = Backends.Cpu;
        using var p = device.Zeros(4, 7);
        using var bad = device.Zeros(28);
        ((Action)(() => Ops.AdamWStep(p, p, bad, p, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AdamWStep: m has shape (28), expected (4, 7).");
        ((Action)(() => Ops.AdamWStep(p, p, p, p, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("AdamWStep: step is 0; it must be 1 or more (steps count from 1).*");
        ((Action)(() => Ops.AdamWStep(p, p, p, p, 1e-3f, 1f, 0.999f, 1e-8f, 0f, 1))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("AdamWStep: beta1 is 1; it must be [0, 1).*");
        ((Action)(() => Ops.SgdStep(p, bad, p, 0.1f, 0.9f, 0f, false, true))).Should().Throw<ShapeMismatchException>()
            .WithMessage("SgdStep: grad has shape (28), expected (4, 7).");
        ((Action)(() => Ops.SgdStep(p, p, p, -0.1f, 0.9f, 0f, false, true))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("SgdStep: lr is -0.1; it must be a finite value >= 0.*");
    }
}
