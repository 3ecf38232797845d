using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class LayerNormTests
{
    /// <summary>y, mean and rstd in float64, as torch.nn.LayerNorm (biased variance).</summary>
    public static (double[] Y, double[] Mean, double[] Rstd) Reference(float[] x, float[] gamma, float[] beta, int c, double eps)
    {
        int rows = x.Length / c;
        var y = new double[x.Length];
        var mean = new double[rows];
        var rstd = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * c, c).ToArray().ToDouble();
            double m = row.Average();
            double v = row.Sum(a => (a - m) * (a - m)) / c;
            double s = 1 / Math.Sqrt(v + eps);
            for (int j = 0; j < c; j++) y[r * c + j] = (row[j] - m) * s * gamma[j] + beta[j];
            (mean[r], rstd[r]) = (m, s);
        }
        return (y, mean, rstd);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.AllAndSimulator), MemberType = typeof(Backends))]
    public void Matches_float64_reference_on_odd_and_round_shapes(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (rows, c) in new[] { (1, 1), (7, 7), (3, 31), (2, 32), (5, 33), (4, 197), (3, 385), (8, 384), (16, 64), (1, 1000), (2, 4100) })
        {
            var x = TestData.Uniform(rows * 7 + c, rows * c, 2f);
            var gamma = TestData.Uniform(c, c);
            var beta = TestData.Uniform(c + 1, c);
            using var tx = device.FromArray(x, rows, c);
            using var tg = device.FromArray(gamma, c);
            using var tb = device.FromArray(beta, c);
            using var ty = device.Zeros(rows, c);
            using var tm = device.Zeros(rows);
            using var ts = device.Zeros(rows);
            Ops.LayerNorm(tx, tg, tb, ty, 1e-5f, tm, ts);
            var (y, mean, rstd) = Reference(x, gamma, beta, c, 1e-5);
            Check.Close(ty.ToArray(), y, 1e-5, 1e-5, $"y ({rows}, {c})");
            Check.Close(tm.ToArray(), mean, 1e-5, 1e-6, $"mean ({rows}, {c})");
            Check.Close(ts.ToArray(), rstd, 1e-5, 0, $"rstd ({rows}, {c})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.AllAndSimulator), MemberType = typeof(Backends))]
    public void Stays_accurate_when_the_mean_dwarfs_the_spread_and_works_in_place(string backend)
    {
        // Rows of 300 + U(-0.5, 0.5): E[x^2] - E[x]^2 would lose every significant digit in float32.
        var device = Backends.Get(backend);
        int batch = 2, t = backend == "simulator" ? 17 : 197, c = 385;   // the simulator runs every thread of a group on the CPU
        var x = TestData.Uniform(9, batch * t * c, 0.5f).Select(v => v + 300f).ToArray();
        var gamma = TestData.Uniform(1, c);
        var beta = TestData.Uniform(2, c);
        using var tx = device.FromArray(x, batch, t, c);
        using var tg = device.FromArray(gamma, c);
        using var tb = device.FromArray(beta, c);
        using var ts = device.Zeros(batch, t);
        Ops.LayerNorm(tx, tg, tb, tx, rstd: ts);
        var (y, _, rstd) = Reference(x, gamma, beta, c, 1e-6);
        Check.Close(tx.ToArray(), y, 1e-4, 1e-4, "y in place");
        Check.Close(ts.ToArray(), rstd, 1e-4, 0, "rstd");
    }

    [Fact]
    public void Gpu_launch_geometry_of_one_row_per_thread_matches_reference_on_the_group_simulator()
    {
        var device = Backends.GpuSimulator;
        int rows = 9, c = 33;
        var x = TestData.Uniform(5, rows * c, 2f);
        var gamma = TestData.Uniform(6, c);
        var beta = TestData.Uniform(7, c);
        using var tx = device.FromArray(x, rows, c);
        using var tg = device.FromArray(gamma, c);
        using var tb = device.FromArray(beta, c);
        using var ty = device.Zeros(rows, c);
        using var tm = device.Zeros(rows);
        Ops.LayerNorm(tx, tg, tb, ty, mean: tm);
        var (y, mean, _) = Reference(x, gamma, beta, c, 1e-6);
        Check.Close(ty.ToArray(), y, 1e-5, 1e-5, "y");
        Check.Close(tm.ToArray(), mean, 1e-5, 1e-6, "mean");
    }

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        foreach (var (rows, c) in new[] { (3, 7), (5, 197), (4, 385), (2, 768) })
        {
            using var tx = device.FromArray(TestData.Uniform(c, rows * c, 3f), rows, c);
            using var tg = device.FromArray(TestData.Uniform(1, c), c);
            using var tb = device.FromArray(TestData.Uniform(2, c), c);
            using var fast = device.Zeros(rows, c);
            using var fastMean = device.Zeros(rows);
            using var fastRstd = device.Zeros(rows);
            using var twin = device.Zeros(rows, c);
            using var twinMean = device.Zeros(rows);
            using var twinRstd = device.Zeros(rows);
            Ops.LayerNorm(tx, tg, tb, fast, 1e-6f, fastMean, fastRstd);
            device.Synchronize();
            for (int r = 0; r < rows; r++)   // every row, as the kernel's blocks of rows cover them
                Ops.LayerNormRowPortable(tx.View, tg.View, tb.View, twin.View, twinMean.View, twinRstd.View, r, c, 1e-6f, 3);
            Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 1e-6, 1e-6, $"y ({rows}, {c})");
            Check.Close(fastMean.ToArray(), twinMean.ToArray().ToDouble(), 1e-6, 1e-7, $"mean ({rows}, {c})");
            Check.Close(fastRstd.ToArray(), twinRstd.ToArray().ToDouble(), 1e-6, 0, $"rstd ({rows}, {c})");
        }
    }

    [Fact]
    public void Rejects_parameters_and_statistics_of_the_wrong_shape()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(2, 3, 7);
        using var good = device.Zeros(7);
        using var bad = device.Zeros(5);
        using var stats = device.Zeros(4);
        ((Action)(() => Ops.LayerNorm(x, bad, good, x))).Should().Throw<ShapeMismatchException>()
            .WithMessage("LayerNorm: gamma has shape (5), expected (7).");
        ((Action)(() => Ops.LayerNorm(x, good, bad, x))).Should().Throw<ShapeMismatchException>()
            .WithMessage("LayerNorm: beta has shape (5), expected (7).");
        ((Action)(() => Ops.LayerNorm(x, good, good, good))).Should().Throw<ShapeMismatchException>()
            .WithMessage("LayerNorm: y has shape (7), expected (2, 3, 7).");
        ((Action)(() => Ops.LayerNorm(x, good, good, x, rstd: stats))).Should().Throw<ShapeMismatchException>()
            .WithMessage("LayerNorm: rstd has shape (4), expected 6 elements, one per row of x (2, 3, 7), e.g. (2, 3).");
    }
}
