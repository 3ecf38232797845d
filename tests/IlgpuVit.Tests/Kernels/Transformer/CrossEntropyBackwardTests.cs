using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class CrossEntropyBackwardTests
{
    /// <summary>scale * sum over rows of the smoothed cross-entropy, in float64 (the scalar the backward differentiates).</summary>
    private static double Loss(double[] logits, int[] labels, int classes, double eps, double scale) =>
        scale * labels.Length * Support.Reference.CrossEntropy(logits, labels, classes, eps);

    /// <summary>scale (p - (1 - eps) onehot - eps / classes) in float64 from the float32 probabilities.</summary>
    private static double[] Reference(float[] p, int[] labels, int classes, double eps, double scale) =>
        p.Select((v, i) =>
        {
            int label = labels[i / classes];
            if (label < 0 || label >= classes) return double.NaN;
            return scale * (v - (i % classes == label ? 1 - eps : 0) - eps / classes);
        }).ToArray();

    private static int[] Labels(int seed, int batch, int classes)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, batch).Select(_ => random.Next(classes)).ToArray();
    }

    private static (float[] Dlogits, float[] P) Run(Device device, float[] logits, int[] labels, int classes, float eps, float scale,
        bool overProbabilities = false)
    {
        int batch = labels.Length;
        using var tx = device.FromArray(logits, batch, classes);
        using var tl = Tensor<int>.FromArray(device, labels, batch);
        using var loss = device.Zeros(batch);
        using var tp = device.Zeros(batch, classes);
        using var td = device.Zeros(batch, classes);
        Ops.CrossEntropy(tx, tl, loss, eps, tp);
        var p = tp.ToArray();
        Ops.CrossEntropyBackward(tp, tl, overProbabilities ? tp : td, eps, scale);
        return ((overProbabilities ? tp : td).ToArray(), p);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_finite_differences_of_the_float64_loss(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, classes, eps) in new[] { (1, 1, 0f), (7, 7, 0.1f), (3, 31, 0f), (2, 33, 0.2f), (1, 197, 0.1f), (4, 10, 1f), (2, 100, 0.1f) })
        {
            var logits = TestData.Uniform(batch + classes, batch * classes, 4f);
            var labels = Labels(batch, batch, classes);
            float scale = 1f / batch;
            var (dlogits, _) = Run(device, logits, labels, classes, eps, scale);
            var expected = FiniteDifference.Gradient(v => Loss(v, labels, classes, eps, scale), logits.ToDouble());
            Check.Close(dlogits, expected, 1e-3, 1e-6, $"dlogits ({batch}, {classes}) eps {eps}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_float64_reference_may_overwrite_the_probabilities_and_poisons_a_row_with_a_bad_label(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, classes) in new[] { (1, 1), (7, 7), (33, 31), (128, 10), (128, 100), (31, 197), (3, 1000) })
        {
            var logits = TestData.Uniform(batch * 3 + classes, batch * classes, 5f);
            var labels = Labels(classes, batch, classes);
            if (batch > 1) (labels[0], labels[batch - 1]) = (-1, classes);   // both outside [0, classes)
            foreach (var over in new[] { false, true })
            {
                var (dlogits, p) = Run(device, logits, labels, classes, 0.1f, 1f / batch, over);
                var expected = Reference(p, labels, classes, 0.1, 1.0 / batch);
                for (int i = 0; i < dlogits.Length; i++)
                    double.IsNaN(expected[i]).Should().Be(float.IsNaN(dlogits[i]), $"element {i} of ({batch}, {classes}) is NaN exactly when its label is bad");
                Check.Close(dlogits.Select((v, i) => double.IsNaN(expected[i]) ? 0f : v).ToArray(),
                    expected.Select(v => double.IsNaN(v) ? 0 : v).ToArray(), 1e-5, 1e-7, $"dlogits ({batch}, {classes})");
            }
        }
    }

    [Fact]
    public void Gpu_launch_geometry_matches_reference_on_the_group_simulator()
    {
        int batch = 9, classes = 37;
        var logits = TestData.Uniform(1, batch * classes, 3f);
        var labels = Labels(2, batch, classes);
        var (dlogits, p) = Run(Backends.GpuSimulator, logits, labels, classes, 0.1f, 0.5f);
        Check.Close(dlogits, Reference(p, labels, classes, 0.1, 0.5), 1e-5, 1e-7, "dlogits");
    }

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        foreach (var (batch, classes) in new[] { (3, 7), (128, 100), (5, 1000) })
        {
            var labels = Labels(batch, batch, classes);
            labels[^1] = classes + 2;
            using var tp = device.FromArray(TestData.Uniform(classes, batch * classes).Select(Math.Abs).ToArray(), batch, classes);
            using var tl = Tensor<int>.FromArray(device, labels, batch);
            using var fast = device.Zeros(batch, classes);
            using var twin = device.Zeros(batch, classes);
            Ops.CrossEntropyBackward(tp, tl, fast, 0.1f, 0.25f);
            device.Synchronize();
            Ops.CrossEntropyBackwardRowsPortable(tp.View, tl.View, twin.View, 0, batch, classes, 0.1f, 0.25f);
            var f = fast.ToArray();
            var t = twin.ToArray();
            f.Select(float.IsNaN).Should().Equal(t.Select(float.IsNaN));
            Check.Close(f.Select(v => float.IsNaN(v) ? 0f : v).ToArray(), t.Select(v => float.IsNaN(v) ? 0.0 : v).ToArray(), 1e-5, 1e-7, $"({batch}, {classes})");
        }
    }

    [Fact]
    public void Rejects_bad_shapes_and_smoothing()
    {
        var device = Backends.Cpu;
        using var p = device.Zeros(4, 10);
        using var labels = Tensor<int>.Zeros(device, 4);
        using var badLabels = Tensor<int>.Zeros(device, 5);
        using var badGrad = device.Zeros(4, 11);
        ((Action)(() => Ops.CrossEntropyBackward(p, badLabels, p, 0f, 1f))).Should().Throw<ShapeMismatchException>()
            .WithMessage("CrossEntropyBackward: labels has shape (5), expected (4).");
        ((Action)(() => Ops.CrossEntropyBackward(p, labels, badGrad, 0f, 1f))).Should().Throw<ShapeMismatchException>()
            .WithMessage("CrossEntropyBackward: dlogits has shape (4, 11), expected (4, 10).");
        ((Action)(() => Ops.CrossEntropyBackward(p, labels, p, 1.5f, 1f))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("CrossEntropyBackward: label smoothing must lie in [0, 1].*");
    }
}
