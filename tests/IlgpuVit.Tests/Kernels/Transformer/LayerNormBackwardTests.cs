using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class LayerNormBackwardTests
{
    private const double Eps = 1e-5;

    /// <summary>LayerNorm forward in float64 (torch semantics), the function finite differences perturb.</summary>
    private static double[] Forward(double[] x, double[] gamma, double[] beta, int c)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / c; r++)
        {
            var row = x.AsSpan(r * c, c);
            double m = 0, v = 0;
            foreach (var a in row) m += a;
            m /= c;
            foreach (var a in row) v += (a - m) * (a - m);
            double s = 1 / Math.Sqrt(v / c + Eps);
            for (int j = 0; j < c; j++) y[r * c + j] = (row[j] - m) * s * gamma[j] + beta[j];
        }
        return y;
    }

    /// <summary>dx, dgamma, dbeta in float64 from the analytic formulas of LayerNormBackward.cs.</summary>
    public static (double[] Dx, double[] Dgamma, double[] Dbeta) Reference(float[] dy, float[] x, float[] gamma, int c)
    {
        int rows = x.Length / c;
        var dx = new double[x.Length];
        var dgamma = new double[c];
        var dbeta = new double[c];
        for (int r = 0; r < rows; r++)
        {
            double m = 0, v = 0;
            for (int j = 0; j < c; j++) m += x[r * c + j];
            m /= c;
            for (int j = 0; j < c; j++) v += (x[r * c + j] - m) * (x[r * c + j] - m);
            double s = 1 / Math.Sqrt(v / c + Eps);
            double a = 0, b = 0;
            for (int j = 0; j < c; j++)
            {
                double xhat = (x[r * c + j] - m) * s, g = (double)dy[r * c + j] * gamma[j];
                a += g / c;
                b += g * xhat / c;
                dgamma[j] += dy[r * c + j] * xhat;
                dbeta[j] += dy[r * c + j];
            }
            for (int j = 0; j < c; j++)
                dx[r * c + j] = s * ((double)dy[r * c + j] * gamma[j] - a - (x[r * c + j] - m) * s * b);
        }
        return (dx, dgamma, dbeta);
    }

    /// <summary>Runs forward (for mean and rstd) and backward on a device; dgamma and dbeta start at the given values.</summary>
    internal static (float[] Dx, float[] Dgamma, float[] Dbeta) Run(Device device, float[] dy, float[] x, float[] gamma, int c,
        float[]? dxStart = null, float[]? dgammaStart = null, float[]? dbetaStart = null)
    {
        int rows = x.Length / c;
        using var tx = device.FromArray(x, rows, c);
        using var tdy = device.FromArray(dy, rows, c);
        using var tg = device.FromArray(gamma, c);
        using var tb = device.Zeros(c);
        using var ty = device.Zeros(rows, c);
        using var tm = device.Zeros(rows);
        using var ts = device.Zeros(rows);
        using var tdx = device.FromArray(dxStart ?? new float[rows * c], rows, c);
        using var tdg = device.FromArray(dgammaStart ?? new float[c], c);
        using var tdb = device.FromArray(dbetaStart ?? new float[c], c);
        Ops.LayerNorm(tx, tg, tb, ty, (float)Eps, tm, ts);
        Ops.LayerNormBackward(tdy, tx, tg, tm, ts, tdx, tdg, tdb, accumulateDx: dxStart is not null);
        return (tdx.ToArray(), tdg.ToArray(), tdb.ToArray());
    }

    internal static (float[] Dy, float[] X, float[] Gamma) Inputs(int rows, int c) =>
        (TestData.Uniform(rows * 3 + c, rows * c), TestData.Uniform(rows + 5 * c, rows * c, 2f), TestData.Uniform(c + 1, c, 1.5f));

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_finite_differences_of_the_float64_forward(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (rows, c) in new[] { (1, 1), (1, 7), (7, 7), (3, 31), (2, 33), (1, 197), (4, 64), (33, 16) })
        {
            var (dy, x, gamma) = Inputs(rows, c);
            var (dx, dgamma, dbeta) = Run(device, dy, x, gamma, c);
            var w = dy.ToDouble();
            var xd = x.ToDouble();
            var gd = gamma.ToDouble();
            var bd = new double[c];
            Check.Close(dx, FiniteDifference.Gradient(v => FiniteDifference.Dot(w, Forward(v, gd, bd, c)), xd), 1e-3, 1e-4, $"dx ({rows}, {c})");
            Check.Close(dgamma, FiniteDifference.Gradient(v => FiniteDifference.Dot(w, Forward(xd, v, bd, c)), gd), 1e-3, 1e-4, $"dgamma ({rows}, {c})");
            Check.Close(dbeta, FiniteDifference.Gradient(v => FiniteDifference.Dot(w, Forward(xd, gd, v, c)), bd), 1e-3, 1e-4, $"dbeta ({rows}, {c})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_float64_analytic_reference_on_odd_and_round_shapes(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (rows, c) in new[] { (1, 1), (7, 7), (31, 33), (197, 31), (33, 197), (64, 64), (200, 384), (1100, 64), (3, 1536) })
        {
            var (dy, x, gamma) = Inputs(rows, c);
            var (dx, dgamma, dbeta) = Run(device, dy, x, gamma, c);
            var (rdx, rdg, rdb) = Reference(dy, x, gamma, c);
            // Column sums of `rows` terms of size ~1: float32 error grows like sqrt(rows) ulps.
            double sumTol = 2e-6 * Math.Sqrt(rows) * 4;
            Check.Close(dx, rdx, 1e-4, 1e-5, $"dx ({rows}, {c})");
            Check.Close(dgamma, rdg, 1e-4, sumTol, $"dgamma ({rows}, {c})");
            Check.Close(dbeta, rdb, 1e-4, sumTol, $"dbeta ({rows}, {c})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Accumulates_parameter_gradients_and_dx_on_request(string backend)
    {
        var device = Backends.Get(backend);
        int rows = 37, c = 33;
        var (dy, x, gamma) = Inputs(rows, c);
        var dxStart = TestData.Uniform(1, rows * c);
        var dgStart = TestData.Uniform(2, c);
        var dbStart = TestData.Uniform(3, c);
        var (dx, dgamma, dbeta) = Run(device, dy, x, gamma, c, dxStart, dgStart, dbStart);
        var (rdx, rdg, rdb) = Reference(dy, x, gamma, c);
        Check.Close(dx, rdx.Select((v, i) => v + dxStart[i]).ToArray(), 1e-4, 1e-5, "dx += ");
        Check.Close(dgamma, rdg.Select((v, i) => v + dgStart[i]).ToArray(), 1e-4, 1e-5, "dgamma += ");
        Check.Close(dbeta, rdb.Select((v, i) => v + dbStart[i]).ToArray(), 1e-4, 1e-5, "dbeta += ");
    }

    [Fact]
    public void Writes_dx_over_dy_and_repeats_bit_for_bit()
    {
        var device = Backends.Cpu;
        int rows = 300, c = 197;
        var (dy, x, gamma) = Inputs(rows, c);
        using var tx = device.FromArray(x, 3, 100, c);
        using var tg = device.FromArray(gamma, c);
        using var tm = device.Zeros(3, 100);
        using var ts = device.Zeros(3, 100);
        using var ty = device.Zeros(3, 100, c);
        Ops.LayerNorm(tx, tg, tg, ty, (float)Eps, tm, ts);
        var results = new List<(float[], float[])>();
        for (int run = 0; run < 2; run++)
        {
            using var tdy = device.FromArray(dy, 3, 100, c);
            using var tdg = device.Zeros(c);
            using var tdb = device.Zeros(c);
            Ops.LayerNormBackward(tdy, tx, tg, tm, ts, tdy, tdg, tdb);   // dx over dy
            results.Add((tdy.ToArray(), tdg.ToArray()));
        }
        var (rdx, rdg, _) = Reference(dy, x, gamma, c);
        Check.Close(results[0].Item1, rdx, 1e-4, 1e-5, "dx in place");
        Check.Close(results[0].Item2, rdg, 1e-4, 1e-4, "dgamma");
        results[1].Item1.Should().Equal(results[0].Item1);
        results[1].Item2.Should().Equal(results[0].Item2);
    }

    [Fact]
    public void Gpu_launch_geometry_matches_reference_on_the_group_simulator()
    {
        foreach (var (rows, c) in new[] { (7, 33), (41, 16) })   // 41 rows: blocks of 16 with a ragged last block
        {
            var (dy, x, gamma) = Inputs(rows, c);
            var (dx, dgamma, dbeta) = Run(Backends.GpuSimulator, dy, x, gamma, c);
            var (rdx, rdg, rdb) = Reference(dy, x, gamma, c);
            Check.Close(dx, rdx, 1e-4, 1e-5, $"dx ({rows}, {c})");
            Check.Close(dgamma, rdg, 1e-4, 1e-5, $"dgamma ({rows}, {c})");
            Check.Close(dbeta, rdb, 1e-4, 1e-5, $"dbeta ({rows}, {c})");
        }
    }

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twins()
    {
        var device = Backends.Cpu;
        foreach (var (rows, c) in new[] { (3, 7), (100, 197), (700, 64), (5, 385) })
        {
            var (dy, x, gamma) = Inputs(rows, c);
            var (dx, dgamma, dbeta) = Run(device, dy, x, gamma, c);
            using var tx = device.FromArray(x, rows, c);
            using var tdy = device.FromArray(dy, rows, c);
            using var tg = device.FromArray(gamma, c);
            using var tm = device.Zeros(rows);
            using var ts = device.Zeros(rows);
            using var ty = device.Zeros(rows, c);
            Ops.LayerNorm(tx, tg, tg, ty, (float)Eps, tm, ts);
            device.Synchronize();
            // The kernels' blocks, as the launcher sizes them, run through the twins on the host.
            int per = Ops.PartialRowsPerBlock(device, rows, c), blocks = (rows + per - 1) / per;
            using var partials = device.Zeros(blocks, 2 * c);
            using var tdx = device.Zeros(rows, c);
            using var tdg = device.Zeros(c);
            using var tdb = device.Zeros(c);
            for (int b = 0; b < blocks; b++)
                Ops.LayerNormBackwardRowsPortable(tdy.View, tx.View, tg.View, tm.View, ts.View, tdx.View, partials.View,
                    b * per, Math.Min(per, rows - b * per), c, b, 0);
            Ops.SumPartialColumnsPortable(partials.View, tdg.View, tdb.View, blocks, 2 * c, c, 0, 2 * c, 1);
            Check.Close(dx, tdx.ToArray().ToDouble(), 1e-5, 1e-6, $"dx ({rows}, {c})");
            Check.Close(dgamma, tdg.ToArray().ToDouble(), 1e-5, 1e-5, $"dgamma ({rows}, {c})");
            Check.Close(dbeta, tdb.ToArray().ToDouble(), 1e-5, 1e-5, $"dbeta ({rows}, {c})");
        }
    }

    [Fact]
    public void Rejects_gradients_and_statistics_of_the_wrong_shape()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(2, 3, 7);
        using var other = device.Zeros(3, 2, 7);
        using var c7 = device.Zeros(7);
        using var c5 = device.Zeros(5);
        using var stats = device.Zeros(2, 3);
        using var badStats = device.Zeros(5);
        ((Action)(() => Ops.LayerNormBackward(other, x, c7, stats, stats, x, c7, c7))).Should().Throw<ShapeMismatchException>()
            .WithMessage("LayerNormBackward: dy has shape (3, 2, 7), expected (2, 3, 7).");
        ((Action)(() => Ops.LayerNormBackward(x, x, c7, stats, stats, other, c7, c7))).Should().Throw<ShapeMismatchException>()
            .WithMessage("LayerNormBackward: dx has shape (3, 2, 7), expected (2, 3, 7).");
        ((Action)(() => Ops.LayerNormBackward(x, x, c7, stats, stats, x, c5, c7))).Should().Throw<ShapeMismatchException>()
            .WithMessage("LayerNormBackward: dgamma has shape (5), expected (7).");
        ((Action)(() => Ops.LayerNormBackward(x, x, c7, stats, badStats, x, c7, c7))).Should().Throw<ShapeMismatchException>()
            .WithMessage("LayerNormBackward: rstd has shape (5), expected 6 elements, one per row of x (2, 3, 7).");
    }
}
