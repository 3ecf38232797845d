// The GPU row kernels (one group per row, GroupReduce; docs/backends.md "GPU row kernels") on the
// GPU simulator against float64 references, at row lengths around the group size: shorter than a
// warp, one past a warp, several strides, and a long row of 4100. Few rows each: the simulator runs
// every group thread as an OS thread. Also the group-per-row top-k and BestMatch.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Kernels.Transformer;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels;

public class GroupRowKernelTests
{
    public static TheoryData<int> Lengths => new() { 1, 7, 31, 33, 197, 385, 4100 };

    private const int Rows = 3;

    private static Device Gpu => Backends.GpuSimulator;

    [Theory, MemberData(nameof(Lengths))]
    public void Softmax_with_a_key_bias_per_image(int n)
    {
        var x = TestData.Uniform(n, Rows * 2 * n, 4f);
        var bias = TestData.Uniform(n + 1, Rows * n, 2f);
        using var tx = Gpu.FromArray(x, Rows, 2, n);
        using var tb = Gpu.FromArray(bias, Rows, n);
        using var ty = Gpu.Zeros(Rows, 2, n);
        Ops.Softmax(tx, ty, scale: 0.7f, keyBias: tb);
        Check.Close(ty.ToArray(), SoftmaxTests.Reference(x, n, 0.7, bias, 2), what: $"softmax n={n}");
        Ops.Softmax(tx, tx, scale: 0.7f);   // in place, no bias
        Check.Close(tx.ToArray(), SoftmaxTests.Reference(x, n, 0.7, null, 1), what: $"softmax in place n={n}");
    }

    [Theory, MemberData(nameof(Lengths))]
    public void Softmax_backward(int n)
    {
        var y = TestData.Uniform(n, Rows * n, 1f);
        var dy = TestData.Uniform(n + 2, Rows * n, 1f);
        using var ty = Gpu.FromArray(y, Rows, n);
        using var tdy = Gpu.FromArray(dy, Rows, n);
        Ops.SoftmaxBackward(ty, tdy, tdy, scale: 0.5f);   // dx over dy
        Check.Close(tdy.ToArray(), SoftmaxBackwardTests.Reference(y, dy, n, 0.5), rtol: 1e-4, atol: 1e-4, what: $"softmax backward n={n}");
    }

    [Theory, MemberData(nameof(Lengths))]
    public void LayerNorm_with_saved_statistics(int n)
    {
        var x = TestData.Uniform(n, Rows * n, 3f).Select(v => v + 50f).ToArray();   // |mean| >> std
        var gamma = TestData.Uniform(n + 1, n, 1f);
        var beta = TestData.Uniform(n + 2, n, 1f);
        using var tx = Gpu.FromArray(x, Rows, n);
        using var tg = Gpu.FromArray(gamma, n);
        using var tb = Gpu.FromArray(beta, n);
        using var ty = Gpu.Zeros(Rows, n);
        using var mean = Gpu.Zeros(Rows);
        using var rstd = Gpu.Zeros(Rows);
        Ops.LayerNorm(tx, tg, tb, ty, 1e-5f, mean, rstd);
        var (ey, emean, erstd) = LayerNormTests.Reference(x, gamma, beta, n, 1e-5);
        Check.Close(ty.ToArray(), ey, rtol: 1e-3, atol: 1e-3, what: $"layernorm n={n}");
        Check.Close(mean.ToArray(), emean, what: $"mean n={n}");
        Check.Close(rstd.ToArray(), erstd, rtol: 1e-3, what: $"rstd n={n}");
    }

    [Theory, MemberData(nameof(Lengths))]
    public void LayerNorm_backward_with_deterministic_column_sums(int n)
    {
        int rows = Rows;   // several blocks of rows: LayerNormBackwardTests' simulator test
        var (dy, x, gamma) = LayerNormBackwardTests.Inputs(rows, n);
        var (dx, dgamma, dbeta) = LayerNormBackwardTests.Run(Gpu, dy, x, gamma, n);
        var (rdx, rdg, rdb) = LayerNormBackwardTests.Reference(dy, x, gamma, n);
        Check.Close(dx, rdx, 1e-3, 1e-4, $"dx n={n}");
        Check.Close(dgamma, rdg, 1e-3, 1e-4, $"dgamma n={n}");
        Check.Close(dbeta, rdb, 1e-3, 1e-4, $"dbeta n={n}");
        var again = LayerNormBackwardTests.Run(Gpu, dy, x, gamma, n);
        again.Dgamma.Should().Equal(dgamma);
        again.Dbeta.Should().Equal(dbeta);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void Cross_entropy_forward_and_backward(int classes)
    {
        var logits = TestData.Uniform(classes, Rows * classes, 5f);
        var labels = Enumerable.Range(0, Rows).Select(r => (r * 7 + classes - 1) % classes).ToArray();
        using var tl = Gpu.FromArray(logits, Rows, classes);
        using var tlab = Tensor<int>.FromArray(Gpu, labels, Rows);
        using var loss = Gpu.Zeros(Rows);
        using var p = Gpu.Zeros(Rows, classes);
        Ops.CrossEntropy(tl, tlab, loss, 0.1f, p);
        var (eloss, ep) = CrossEntropyTests.Reference(logits, labels, classes, 0.1);
        Check.Close(loss.ToArray(), eloss, 1e-4, 1e-4, $"loss classes={classes}");
        Check.Close(p.ToArray(), ep, 1e-4, 1e-6, $"probabilities classes={classes}");
        var pf = p.ToArray();
        Ops.CrossEntropyBackward(p, tlab, p, 0.1f, 0.5f);   // dlogits over the probabilities
        var expected = new double[pf.Length];
        for (int i = 0; i < pf.Length; i++)
        {
            int r = i / classes, j = i % classes;
            expected[i] = 0.5 * (pf[i] - ((j == labels[r] ? 0.9 : 0) + 0.1 / classes));
        }
        Check.Close(p.ToArray(), expected, 1e-5, 1e-7, $"dlogits classes={classes}");
    }

    [Theory, MemberData(nameof(Lengths))]
    public void ArgMax_gives_ties_to_the_lower_index_and_skips_NaN(int n)
    {
        // Coarse values make ties; NaN in the first row; the last row is all NaN (index 0).
        var x = TestData.Uniform(n, Rows * n, 3f).Select(v => MathF.Round(v)).ToArray();
        for (int j = 0; j < n; j += 3) x[j] = float.NaN;
        for (int j = 0; j < n; j++) x[(Rows - 1) * n + j] = float.NaN;
        using var tx = Gpu.FromArray(x, Rows, n);
        using var index = Tensor<int>.Zeros(Gpu, Rows);
        Ops.ArgMax(tx, index);
        Check.Equal(index.ToArray(), TokenReduction.ArgMaxTests.Reference(x, n), $"argmax n={n}");
    }

    [Theory, MemberData(nameof(Lengths))]
    public void TopK_ranks_ties_to_the_lower_index_and_NaN_last(int n)
    {
        // Rows of 4096 or fewer are staged in shared memory; 4100 is ranked from global memory.
        var x = TokenReduction.TopKTests.Quantised(n, Rows * n);
        for (int j = 1; j < n; j += 5) x[j] = float.NaN;
        foreach (int k in new[] { 1, (n + 1) / 2, n }.Distinct())
            TokenReduction.TopKTests.Run(Gpu, x, Rows, n, k, $"simulator n={n}");
    }

    [Theory, MemberData(nameof(Lengths))]
    public void BestMatch_over_b_rows_with_ties_to_the_lower_column(int nb)
    {
        // n is the number of b rows the group's threads share; quantised rows make equal dots common.
        const int batch = 2, na = 3, d = 5;
        var a = TestData.Uniform(nb, batch * na * d).Select(v => MathF.Round(v * 2f)).ToArray();
        var b = TestData.Uniform(nb + 1, batch * nb * d).Select(v => MathF.Round(v * 2f)).ToArray();
        foreach (var (firstRow, firstColumn) in new[] { (0, 0), (1, nb > 1 ? 1 : 0) })
            TokenReduction.BestMatchTests.Run(Gpu, a, b, batch, na, nb, d, firstRow, firstColumn,
                $"simulator nb={nb} from row {firstRow}, column {firstColumn}");
    }
}
