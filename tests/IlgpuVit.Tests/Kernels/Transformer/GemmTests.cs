using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using MathNet.Numerics.LinearAlgebra;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class GemmTests
{
    public static IEnumerable<object[]> Shapes() =>
        from s in new[] { (1, 1, 1), (7, 7, 7), (33, 31, 17), (197, 64, 31), (64, 64, 64), (9, 385, 40), (8, 32, 1) }
        from trans in new[] { (false, false), (true, false), (false, true), (true, true) }
        select new object[] { s.Item1, s.Item2, s.Item3, trans.Item1, trans.Item2 };

    /// <summary>op(A) op(B) in float64 through MathNet, with the stored layouts the kernel reads.</summary>
    private static Matrix<double> Product(float[] a, float[] b, int m, int n, int k, bool ta, bool tb)
    {
        var A = ta ? Matrix<double>.Build.Dense(k, m, (i, j) => a[i * m + j]).Transpose() : Matrix<double>.Build.Dense(m, k, (i, j) => a[i * k + j]);
        var B = tb ? Matrix<double>.Build.Dense(n, k, (i, j) => b[i * k + j]).Transpose() : Matrix<double>.Build.Dense(k, n, (i, j) => b[i * n + j]);
        return A * B;
    }

    private static double[] RowMajor(Matrix<double> m) => Enumerable.Range(0, m.RowCount * m.ColumnCount).Select(i => m[i / m.ColumnCount, i % m.ColumnCount]).ToArray();

    private static void RunPlain(Device device, int m, int n, int k, bool ta, bool tb)
    {
        var a = TestData.Uniform(m + 3 * n + 7 * k, m * k);
        var b = TestData.Uniform(m * n + k, k * n);
        using var ta_ = ta ? device.FromArray(a, k, m) : device.FromArray(a, m, k);
        using var tb_ = tb ? device.FromArray(b, n, k) : device.FromArray(b, k, n);
        using var c = device.Zeros(m, n);
        Ops.MatMul(ta_, tb_, c, new GemmOptions { TransposeA = ta, TransposeB = tb });
        Check.Close(c.ToArray(), RowMajor(Product(a, b, m, n, k, ta, tb)), 1e-4, 1e-4, $"C ({m}x{n}x{k}, ta={ta}, tb={tb})");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Matches_float64_reference_with_every_transpose_on_cpu(int m, int n, int k, bool ta, bool tb) =>
        RunPlain(Backends.Cpu, m, n, k, ta, tb);

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_float64_reference_on_every_backend(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (m, n, k) in new[] { (197, 385, 64), (31, 33, 65), (128, 128, 128) })
            RunPlain(device, m, n, k, false, true);
    }

    [Theory]
    [InlineData(1, 1, 1, false, false)]
    [InlineData(65, 33, 17, false, false)]
    [InlineData(70, 130, 40, true, false)]
    [InlineData(31, 64, 33, false, true)]
    [InlineData(64, 65, 16, true, true)]
    public void Gpu_tiled_kernel_matches_reference_on_the_group_simulator(int m, int n, int k, bool ta, bool tb) =>
        RunPlain(Backends.GpuSimulator, m, n, k, ta, tb);

    /// <summary>
    /// Odd shapes for every GPU tile shape: edges in M, N and K (K not a multiple of the 16-wide slice), at leading
    /// dimensions and strides that are not multiples of 4 (scalar loads) and, for most, at ones that are (float4 loads,
    /// with scalars at the matrices' edges).
    /// </summary>
    public static TheoryData<string, int, int, int, bool, bool, bool> TileCases()
    {
        var data = new TheoryData<string, int, int, int, bool, bool, bool>();
        foreach (var tile in new[] { "Tile128x128", "Tile128x64", "Tile64x64" })
            foreach (bool aligned in new[] { false, true })
            {
                if (!aligned) data.Add(tile, 1, 7, 1, false, false, aligned);
                data.Add(tile, 197, 33, 37, false, true, aligned);
                data.Add(tile, 31, 33, 7, true, false, aligned);
                data.Add(tile, 33, 31, 17, true, true, aligned);
            }
        data.Add("Tile128x128", 385, 130, 31, false, true, false);
        data.Add("Tile128x64", 385, 130, 31, true, false, true);
        data.Add("Tile64x64", 70, 66, 40, false, false, true);
        return data;
    }

    /// <summary>
    /// Each tile shape of the GPU kernel, forced, on the simulator: two batches at padded leading
    /// dimensions and batch strides, with bias and residual, against float64 loops.
    /// </summary>
    [Theory]
    [MemberData(nameof(TileCases))]
    public void Every_gpu_tile_matches_float64_when_batched_strided_with_bias_and_residual(string tile, int m, int n, int k, bool ta, bool tb,
        bool aligned)
    {
        var device = Backends.GpuSimulator;
        const int batch = 2, pad = 3;
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int Leading(int cols) => aligned ? (cols + pad + 3) / 4 * 4 : cols + pad;   // padded either way
        int lda = Leading(aCols), ldb = Leading(bCols), ldc = n + pad;
        int aStride = aRows * lda + (aligned ? 8 : 5), bStride = bRows * ldb + (aligned ? 4 : 2), cStride = m * ldc + 1;
        var a = TestData.Uniform(m + 11 * k, batch * aStride);
        var b = TestData.Uniform(n + 13 * k, batch * bStride);
        var bias = TestData.Uniform(7, n);
        var res = TestData.Uniform(8, batch * cStride);
        using var tA = device.FromArray(a, a.Length);
        using var tB = device.FromArray(b, b.Length);
        using var tBias = device.FromArray(bias, n);
        using var tRes = device.FromArray(res, res.Length);
        using var c = device.Zeros(batch * cStride);
        Ops.GemmOn(Enum.Parse<GemmTileShape>(tile), batch, 1, m, n, k,
            tA, new MatrixLayout(0, lda, aStride), tB, new MatrixLayout(0, ldb, bStride), c, new MatrixLayout(0, ldc, cStride),
            new GemmOptions { TransposeA = ta, TransposeB = tb, Bias = tBias, Residual = tRes, Alpha = 0.5f });
        var got = c.ToArray();
        var actual = new List<float>();
        var expected = new List<double>();
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int e = 0; e < k; e++)
                        s += (double)a[z * aStride + (ta ? e * lda + i : i * lda + e)] * b[z * bStride + (tb ? j * ldb + e : e * ldb + j)];
                    int at = z * cStride + i * ldc + j;
                    expected.Add(0.5 * s + bias[j] + res[at]);
                    actual.Add(got[at]);
                }
        Check.Close(actual.ToArray(), expected.ToArray(), 1e-4, 1e-4, $"{tile} {m}x{n}x{k} ta={ta} tb={tb} aligned={aligned}");
        for (int z = 0; z < batch; z++)
            got[z * cStride + m * ldc - pad].Should().Be(0f, "padding columns of C stay untouched");
    }

    [Fact]
    public void Tile_rule_takes_the_largest_tile_that_still_fills_every_multiprocessor()
    {
        // A 132-SM GPU (H100/H200) and ViT-S's qkv projection (N = 1152) at batch 64, 8 and 1.
        Ops.ChooseGemmTile(64 * 197, 1152, 132).Should().Be(GemmTileShape.Tile128x128, "99 x 9 groups fill 132 SMs");
        Ops.ChooseGemmTile(8 * 197, 1152, 132).Should().Be(GemmTileShape.Tile128x64, "13 x 9 = 117 groups of 128x128 leave SMs idle, 13 x 18 do not");
        Ops.ChooseGemmTile(197, 1152, 132).Should().Be(GemmTileShape.Tile64x64, "even 128x64 gives only 2 x 18 groups");
        Ops.ChooseGemmTile(197, 384, 4).Should().Be(GemmTileShape.Tile128x128, "a small GPU is filled by 2 x 3 groups");
        Ops.ChooseGemmTile(197, 197, 132, batches: 96).Should().Be(GemmTileShape.Tile128x128, "batched attention heads count as groups");
    }

    public static TheoryData<string> Devices => new() { "cpu", "simulator" };

    private static Device Resolve(string name) => name == "cpu" ? Backends.Cpu : Backends.GpuSimulator;

    [Theory]
    [MemberData(nameof(Devices))]
    public void Fused_epilogues_match_the_composed_reference(string name)
    {
        var device = Resolve(name);
        int m = 37, n = 45, k = 29;
        var a = TestData.Uniform(1, m * k);
        var w = TestData.Uniform(2, n * k);
        var bias = TestData.Uniform(3, n);
        var res = TestData.Uniform(4, m * n);
        var prior = TestData.Uniform(5, m * n);
        using var ta = device.FromArray(a, m, k);
        using var tw = device.FromArray(w, n, k);
        using var tbias = device.FromArray(bias, n);
        using var tres = device.FromArray(res, m, n);
        var product = RowMajor(Product(a, w, m, n, k, false, true));
        double Gelu(double x) => 0.5 * x * (1 + MathNet.Numerics.SpecialFunctions.Erf(x / Math.Sqrt(2)));

        using var c = device.Zeros(m, n);
        Ops.MatMul(ta, tw, c, new GemmOptions { TransposeB = true, Bias = tbias });
        Check.Close(c.ToArray(), product.Select((p, i) => p + bias[i % n]).ToArray(), 1e-4, 1e-4, "bias");

        Ops.MatMul(ta, tw, c, new GemmOptions { TransposeB = true, Bias = tbias, Gelu = true });
        Check.Close(c.ToArray(), product.Select((p, i) => Gelu(p + bias[i % n])).ToArray(), 1e-4, 1e-4, "bias + GELU");

        Ops.MatMul(ta, tw, c, new GemmOptions { TransposeB = true, Bias = tbias, Residual = tres });
        Check.Close(c.ToArray(), product.Select((p, i) => p + bias[i % n] + res[i]).ToArray(), 1e-4, 1e-4, "bias + residual");

        c.CopyFrom(prior);
        Ops.MatMul(ta, tw, c, new GemmOptions { TransposeB = true, Alpha = 0.5f, Accumulate = true });
        Check.Close(c.ToArray(), product.Select((p, i) => 0.5 * p + prior[i]).ToArray(), 1e-4, 1e-4, "alpha + accumulate");
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void One_strided_launch_computes_every_attention_head_from_a_fused_qkv_buffer(string name)
    {
        var device = Resolve(name);
        int images = 2, t = 13, heads = 3, d = 8, c = heads * d;
        var qkv = TestData.Uniform(9, images * t * 3 * c);       // (B, T, 3, H, D)
        using var tq = device.FromArray(qkv, images, t, 3 * c);
        using var scores = device.Zeros(images, heads, t, t);
        // scores[b, h] = q[b, :, h] k[b, :, h]^T: q at column h*d, k at column c + h*d, rows 3c apart.
        Ops.Gemm(images, heads, t, t, d,
            tq, new MatrixLayout(0, 3 * c, t * 3 * c, d),
            tq, new MatrixLayout(c, 3 * c, t * 3 * c, d),
            scores, new MatrixLayout(0, t, heads * t * t, t * t),
            new GemmOptions { TransposeB = true, Alpha = 0.25f });
        var expected = new double[images * heads * t * t];
        for (int b = 0; b < images; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < t; i++)
                    for (int j = 0; j < t; j++)
                    {
                        double s = 0;
                        for (int e = 0; e < d; e++)
                            s += (double)qkv[(b * t + i) * 3 * c + h * d + e] * qkv[(b * t + j) * 3 * c + c + h * d + e];
                        expected[((b * heads + h) * t + i) * t + j] = 0.25 * s;
                    }
        Check.Close(scores.ToArray(), expected, 1e-4, 1e-5, "per-head scores");
    }

    [Fact]
    public void Mismatched_inner_dimensions_name_both_shapes()
    {
        var device = Backends.Cpu;
        using var a = device.Zeros(4, 5);
        using var b = device.Zeros(6, 7);
        using var c = device.Zeros(4, 7);
        var act = () => Ops.MatMul(a, b, c);
        act.Should().Throw<ShapeMismatchException>().WithMessage("*(4, 5)*(6, 7)*");
    }

    [Fact]
    public void A_layout_that_reaches_past_its_tensor_is_rejected()
    {
        var device = Backends.Cpu;
        using var a = device.Zeros(4, 4);
        using var c = device.Zeros(4, 4);
        var act = () => Ops.Gemm(2, 1, 4, 4, 4, a, new MatrixLayout(0, 4, 16), a, new MatrixLayout(0, 4), c, new MatrixLayout(0, 4));
        act.Should().Throw<ShapeMismatchException>().WithMessage("*A of shape (4, 4)*");
    }
}

public class GemmFastPathTests
{
    [Theory]
    [InlineData(1, 1, 1, false, false)]
    [InlineData(33, 45, 29, false, true)]
    [InlineData(17, 70, 9, true, false)]
    public void Cpu_fast_path_matches_its_portable_twins_run_on_the_host(int m, int n, int k, bool ta, bool tb)
    {
        var device = Backends.Cpu;
        var a = TestData.Uniform(1, m * k);
        var b = TestData.Uniform(2, n * k);
        var bias = TestData.Uniform(3, n);
        using var tA = ta ? device.FromArray(a, k, m) : device.FromArray(a, m, k);
        using var tB = tb ? device.FromArray(b, n, k) : device.FromArray(b, k, n);
        using var tBias = device.FromArray(bias, n);
        using var fast = device.Zeros(m, n);
        using var portable = device.Zeros(m, n);
        var options = new GemmOptions { TransposeA = ta, TransposeB = tb, Bias = tBias, Gelu = true };
        Ops.MatMul(tA, tB, fast, options);

        // The kernels' index decomposition, with each fast helper replaced by its twin.
        var g = GemmArgs.Create(1, 1, m, n, k, new MatrixLayout(0, ta ? m : k), new MatrixLayout(0, tb ? k : n), new MatrixLayout(0, n), options);
        using var packed = device.Zeros(g.Panels, k * Ops.GemmPanel);
        for (int p = 0; p < g.Panels; p++)
            Ops.GemmPackPanelPortable(tB.View, packed.View, g, g.BBase(0), p * k * Ops.GemmPanel, p * Ops.GemmPanel);
        for (int p = 0; p < g.Panels; p++)
            for (int rb = 0; rb < g.RowBlocks; rb++)
                Ops.GemmTilePortable(tA.View, packed.View, portable.View, tBias.View, portable.View, g, 0, rb * Ops.GemmRows, p * Ops.GemmPanel, p * k * Ops.GemmPanel);

        Check.Close(fast.ToArray(), portable.ToArray().ToDouble(), 1e-5, 1e-6, "fast vs portable");
    }
}
