using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class CrossEntropyTests
{
    /// <summary>Loss from the definition: -(1 - eps) log p_y - (eps / classes) sum_j log p_j, in float64.</summary>
    public static (double[] Loss, double[] Probabilities) Reference(float[] logits, int[] labels, int classes, double eps)
    {
        var loss = new double[labels.Length];
        var p = new double[logits.Length];
        for (int r = 0; r < labels.Length; r++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < classes; j++) max = Math.Max(max, logits[r * classes + j]);
            double sum = 0;
            for (int j = 0; j < classes; j++) sum += Math.Exp(logits[r * classes + j] - max);
            double lse = max + Math.Log(sum), smooth = 0;
            for (int j = 0; j < classes; j++)
            {
                double logp = logits[r * classes + j] - lse;
                p[r * classes + j] = Math.Exp(logp);
                smooth += logp;
            }
            int y = labels[r];
            loss[r] = y < 0 || y >= classes ? double.NaN
                : -(1 - eps) * (logits[r * classes + y] - lse) - eps / classes * smooth;
        }
        return (loss, p);
    }

    private static int[] Labels(int seed, int batch, int classes)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, batch).Select(_ => random.Next(classes)).ToArray();
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_float64_reference_with_and_without_smoothing(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, classes) in new[] { (1, 1), (7, 7), (33, 31), (4, 32), (5, 33), (3, 197), (2, 385), (16, 1000) })
            foreach (var eps in new[] { 0f, 0.1f })
            {
                var logits = TestData.Uniform(batch * 7 + classes, batch * classes, 8f);
                var labels = Labels(batch + classes, batch, classes);
                using var tl = device.FromArray(logits, batch, classes);
                using var ty = Tensor<int>.FromArray(device, labels, batch);
                using var loss = device.Zeros(batch);
                using var p = device.Zeros(batch, classes);
                Ops.CrossEntropy(tl, ty, loss, eps, p);
                var (expectedLoss, expectedP) = Reference(logits, labels, classes, eps);
                Check.Close(loss.ToArray(), expectedLoss, 1e-5, 1e-5, $"loss ({batch}, {classes}, eps {eps})");
                Check.Close(p.ToArray(), expectedP, 1e-5, 1e-6, $"probabilities ({batch}, {classes}, eps {eps})");

                using var lossOnly = device.Zeros(batch);
                Ops.CrossEntropy(tl, ty, lossOnly, eps);
                Check.Close(lossOnly.ToArray(), expectedLoss, 1e-5, 1e-5, $"loss without probabilities ({batch}, {classes})");
            }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Stays_finite_for_large_logits(string backend)
    {
        var device = Backends.Get(backend);
        float[] logits = [1000f, 0f, -1000f, 90f, 88f, 89f];
        int[] labels = [2, 0];
        using var tl = device.FromArray(logits, 2, 3);
        using var ty = Tensor<int>.FromArray(device, labels, 2);
        using var loss = device.Zeros(2);
        Ops.CrossEntropy(tl, ty, loss, 0.1f);
        Check.Close(loss.ToArray(), Reference(logits, labels, 3, 0.1).Loss, 1e-5, 1e-4, "large logits");
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Writes_nan_loss_for_a_label_out_of_range(string backend)
    {
        var device = Backends.Get(backend);
        int batch = 5, classes = 37;
        var logits = TestData.Uniform(4, batch * classes, 3f);
        int[] labels = [3, -1, classes, 36, int.MinValue];
        using var tl = device.FromArray(logits, batch, classes);
        using var ty = Tensor<int>.FromArray(device, labels, batch);
        using var loss = device.Zeros(batch);
        using var p = device.Zeros(batch, classes);
        Ops.CrossEntropy(tl, ty, loss, 0.1f, p);
        var got = loss.ToArray();
        var (expected, expectedP) = Reference(logits, labels, classes, 0.1);
        got.Select(float.IsNaN).Should().Equal(false, true, true, false, true);
        Check.Close([got[0], got[3]], [expected[0], expected[3]], 1e-5, 1e-5, "valid rows");
        Check.Close(p.ToArray(), expectedP, 1e-5, 1e-6, "probabilities do not depend on the label");
    }

    [Fact]
    public void Fast_row_matches_the_portable_twin()
    {
        var device = Backends.Cpu;
        int batch = 9, classes = 103;
        var logits = TestData.Uniform(8, batch * classes, 6f);
        var labels = Labels(9, batch, classes);
        labels[4] = classes;   // out of range: both give NaN
        using var tl = device.FromArray(logits, batch, classes);
        using var ty = Tensor<int>.FromArray(device, labels, batch);
        using var fast = device.Zeros(batch);
        using var fastP = device.Zeros(batch, classes);
        using var twin = device.Zeros(batch);
        using var twinP = device.Zeros(batch, classes);
        Ops.CrossEntropy(tl, ty, fast, 0.2f, fastP);
        device.Synchronize();
        for (int row = 0; row < batch; row++)
            Ops.CrossEntropyRowPortable(tl.View, ty.View, twin.View, twinP.View, row, classes, 0.2f, 1);
        var f = fast.ToArray();
        var t = twin.ToArray();
        float.IsNaN(f[4]).Should().BeTrue();
        float.IsNaN(t[4]).Should().BeTrue();
        f[4] = t[4] = 0;
        // Only the summation order and the vector exp differ.
        Check.Close(f, t.ToDouble(), 1e-5, 1e-6, "loss: fast vs twin");
        Check.Close(fastP.ToArray(), twinP.ToArray().ToDouble(), 1e-5, 1e-7, "probabilities: fast vs twin");
    }

    [Fact]
    public void Rejects_mismatched_shapes_and_smoothing_outside_0_1()
    {
        var device = Backends.Cpu;
        using var logits = device.Zeros(4, 10);
        using var labels = Tensor<int>.Zeros(device, 4);
        using var shortLabels = Tensor<int>.Zeros(device, 3);
        using var loss = device.Zeros(4);
        using var p = device.Zeros(4, 9);
        var badLabels = () => Ops.CrossEntropy(logits, shortLabels, loss);
        badLabels.Should().Throw<ShapeMismatchException>().WithMessage("CrossEntropy: labels has shape (3), expected (4).");
        var badP = () => Ops.CrossEntropy(logits, labels, loss, probabilities: p);
        badP.Should().Throw<ShapeMismatchException>().WithMessage("CrossEntropy: probabilities has shape (4, 9), expected (4, 10).");
        var badRank = () => Ops.CrossEntropy(loss, labels, loss);
        badRank.Should().Throw<ShapeMismatchException>().WithMessage("*(4)*(B, classes)*");
        var badSmoothing = () => Ops.CrossEntropy(logits, labels, loss, 1.5f);
        badSmoothing.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[0, 1]*");
    }
}
