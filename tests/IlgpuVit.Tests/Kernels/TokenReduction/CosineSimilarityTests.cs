using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public class CosineSimilarityTests
{
    private static double[] Normalized(float[] x, int n, double eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / n; r++)
        {
            double norm = 0;
            for (int j = 0; j < n; j++) norm += (double)x[r * n + j] * x[r * n + j];
            norm = Math.Max(Math.Sqrt(norm), eps);
            for (int j = 0; j < n; j++) y[r * n + j] = x[r * n + j] / norm;
        }
        return y;
    }

    public static double[] Reference(float[] a, float[] b, int batch, int ta, int tb, int c, double eps)
    {
        var an = Normalized(a, c, eps);
        var bn = Normalized(b, c, eps);
        var s = new double[batch * ta * tb];
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < ta; i++)
                for (int j = 0; j < tb; j++)
                {
                    double dot = 0;
                    for (int k = 0; k < c; k++) dot += an[(z * ta + i) * c + k] * bn[(z * tb + j) * c + k];
                    s[(z * ta + i) * tb + j] = dot;
                }
        return s;
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void NormalizeRows_matches_reference_and_keeps_zero_rows_zero(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (rows, n) in new[] { (1, 1), (7, 7), (33, 31), (4, 32), (3, 33), (5, 197), (2, 385), (16, 64) })
        {
            var x = TestData.Uniform(rows * 5 + n, rows * n, 3f);
            for (int j = 0; j < n; j++) x[j] = 0f;   // a zero row stays zero thanks to the eps floor
            using var tx = device.FromArray(x, rows, n);
            using var ty = device.Zeros(rows, n);
            Ops.NormalizeRows(tx, ty);
            Check.Close(ty.ToArray(), Normalized(x, n, 1e-12), 1e-5, 1e-6, $"normalised ({rows}, {n})");
            Ops.NormalizeRows(tx, tx, eps: 0.5f);   // in place
            Check.Close(tx.ToArray(), Normalized(x, n, 0.5), 1e-5, 1e-6, $"normalised in place ({rows}, {n})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_float64_reference_on_odd_and_round_shapes(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, ta, tb, c) in new[] { (1, 1, 1, 1), (2, 7, 7, 7), (1, 31, 33, 32), (3, 32, 32, 33), (2, 99, 98, 64), (1, 197, 1, 385) })
        {
            var a = TestData.Uniform(batch + ta + c, batch * ta * c);
            var b = TestData.Uniform(batch * tb + c, batch * tb * c);
            using var tA = device.FromArray(a, batch, ta, c);
            using var tB = device.FromArray(b, batch, tb, c);
            using var s = device.Zeros(batch, ta, tb);
            Ops.CosineSimilarity(tA, tB, s);
            Check.Close(s.ToArray(), Reference(a, b, batch, ta, tb, c, 1e-12), 1e-4, 1e-5, $"cosine ({batch}, {ta}, {tb}, {c})");
            tA.ToArray().Should().Equal(a, "the inputs are left untouched");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Accepts_one_tensor_as_both_operands(string backend)
    {
        var device = Backends.Get(backend);
        int batch = 2, t = 197, c = 64;
        var a = TestData.Uniform(17, batch * t * c);
        for (int k = 0; k < c; k++) a[5 * c + k] = 0f;   // a zero token scores 0 against everything
        using var tA = device.FromArray(a, batch, t, c);
        using var s = device.Zeros(batch, t, t);
        Ops.CosineSimilarity(tA, tA, s);
        var expected = Reference(a, a, batch, t, t, c, 1e-12);
        Check.Close(s.ToArray(), expected, 1e-4, 1e-5, "self cosine");
        expected[5 * t + 5].Should().Be(0);
        expected[7 * t + 7].Should().BeApproximately(1, 1e-12);
    }

    [Fact]
    public void Fast_normalisation_matches_the_portable_twin()
    {
        var device = Backends.Cpu;
        int rows = 19, n = 71;
        var x = TestData.Uniform(3, rows * n, 2f);
        using var tx = device.FromArray(x, rows, n);
        using var fast = device.Zeros(rows, n);
        using var twin = device.Zeros(rows, n);
        Ops.NormalizeRows(tx, fast, 1e-6f);
        device.Synchronize();
        for (int row = 0; row < rows; row++) Ops.NormalizeRowPortable(tx.View, twin.View, row * n, n, 1e-6f);
        // Only the summation order differs (16 lanes vs one accumulator).
        Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 1e-6, 1e-7, "fast vs twin");
    }

    [Fact]
    public void Rejects_mismatched_shapes_and_a_non_positive_eps()
    {
        var device = Backends.Cpu;
        using var a = device.Zeros(2, 5, 8);
        using var b = device.Zeros(2, 6, 7);
        using var b8 = device.Zeros(2, 6, 8);
        using var s = device.Zeros(2, 6, 5);
        var channels = () => Ops.CosineSimilarity(a, b, s);
        channels.Should().Throw<ShapeMismatchException>().WithMessage("*(2, 5, 8)*(2, 6, 7)*");
        var output = () => Ops.CosineSimilarity(a, b8, s);
        output.Should().Throw<ShapeMismatchException>().WithMessage("CosineSimilarity: s has shape (2, 6, 5), expected (2, 5, 6).");
        var normalise = () => Ops.NormalizeRows(a, b);
        normalise.Should().Throw<ShapeMismatchException>().WithMessage("NormalizeRows: y has shape (2, 6, 7), expected (2, 5, 8).");
        var eps = () => Ops.NormalizeRows(a, a, 0f);
        eps.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*eps must be positive*");
    }
}
