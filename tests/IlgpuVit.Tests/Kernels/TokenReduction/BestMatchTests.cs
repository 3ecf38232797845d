// Ops.BestMatch: for each row of a, the row of b (columns ≥ firstColumn) with the largest dot product,
// ties to the lower column, and that dot; rows below firstRow score −inf. Checked against float64
// dots on odd and round shapes, on unit rows (cosines, as the reducers use it), with quantised
// values that make ties common, and with the CLS exclusions of ToMe (first row) and hosts (first column).
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public class BestMatchTests
{
    internal static void Run(Device device, float[] a, float[] b, int batch, int na, int nb, int d, int firstRow, int firstColumn, string what,
        Action<Tensor<float>, Tensor<float>, Tensor<int>, Tensor<float>>? match = null)
    {
        var index = new int[batch * na];
        var score = new double[batch * na];
        for (int row = 0; row < batch * na; row++)
        {
            int image = row / na;
            double Dot(int j) => Enumerable.Range(0, d).Sum(e => (double)a[row * d + e] * b[(image * nb + j) * d + e]);
            index[row] = firstColumn;
            score[row] = double.NegativeInfinity;
            if (row % na < firstRow) continue;
            var dots = Enumerable.Range(firstColumn, nb - firstColumn).Select(j => (j, Dot(j))).ToArray();
            (index[row], score[row]) = dots.OrderByDescending(p => p.Item2).ThenBy(p => p.j).First();
        }
        using var ta = device.FromArray(a, batch, na, d);
        using var tb = device.FromArray(b, batch, nb, d);
        using var ti = Tensor<int>.FromArray(device, Enumerable.Repeat(-7, batch * na).ToArray(), batch, na);
        using var ts = device.Zeros(batch, na);
        (match ?? ((x, y, i, v) => Ops.BestMatch(x, y, firstRow, firstColumn, i, v)))(ta, tb, ti, ts);
        Check.Equal(ti.ToArray(), index, $"index {what}");
        var got = ts.ToArray();
        for (int i = 0; i < got.Length; i++)
            if (double.IsNegativeInfinity(score[i])) got[i].Should().Be(float.NegativeInfinity, what);
        Check.Close(got.Where((_, i) => !double.IsNegativeInfinity(score[i])).ToArray(), score.Where(double.IsFinite).ToArray(), 1e-5, 1e-6, $"score {what}");
    }

    internal static float[] UnitRows(int seed, int rows, int d)
    {
        var x = TestData.Uniform(seed, rows * d);
        for (int r = 0; r < rows; r++)
        {
            float norm = MathF.Sqrt(Enumerable.Range(0, d).Sum(e => x[r * d + e] * x[r * d + e]));
            for (int e = 0; e < d; e++) x[r * d + e] /= norm;
        }
        return x;
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Finds_the_first_best_row_past_the_excluded_ones(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, na, nb, d) in new[] { (1, 1, 2, 1), (2, 7, 3, 5), (3, 31, 33, 17), (2, 32, 16, 64), (2, 99, 98, 64), (1, 20, 177, 33) })
            foreach (var (firstRow, firstColumn) in new[] { (0, 0), (1, 0), (0, 1) })
            {
                string what = $"({batch}, {na}, {nb}, {d}) from row {firstRow}, column {firstColumn}";
                Run(device, UnitRows(na + d, batch * na, d), UnitRows(nb + d, batch * nb, d), batch, na, nb, d, firstRow, firstColumn, "unit " + what);
                // Values on a coarse grid: equal dots are common, and the lower column must win.
                var qa = TopKTests.Quantised(na, batch * na * d);
                var qb = TopKTests.Quantised(nb, batch * nb * d);
                Run(device, qa, qb, batch, na, nb, d, firstRow, firstColumn, "quantised " + what);
            }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Best_rows_of_one_image_as_tome_matching_runs_them_agree_with_float64(bool portable)
    {
        // The CPU body stages b transposed up to 16,384 floats (d x nb rounded up to 16) and walks rows past that; it takes
        // rows four at a time, so the row counts leave each remainder.
        var device = Backends.Cpu;
        foreach (var (batch, na, nb, d) in new[] { (1, 1, 2, 1), (2, 6, 16, 3), (2, 7, 3, 5), (3, 31, 33, 17), (2, 25, 25, 16), (2, 99, 98, 64), (1, 20, 177, 33), (1, 5, 300, 64) })
            foreach (var (firstRow, firstColumn) in new[] { (0, 0), (1, 0), (0, 1) })
            {
                string what = $"({batch}, {na}, {nb}, {d}) from row {firstRow}, column {firstColumn}, {(portable ? "portable twin" : "cpu body")}";
                void Match(Tensor<float> x, Tensor<float> y, Tensor<int> i, Tensor<float> v)
                {
                    for (int image = 0; image < batch; image++)
                        if (portable) Ops.BestRowsPortable(x.View, y.View, i.View, v.View, image * na * d, image * nb * d, d, image * na, na, nb, d, firstRow, firstColumn);
                        else Ops.BestRows(x.View, y.View, i.View, v.View, image * na * d, image * nb * d, d, image * na, na, nb, d, firstRow, firstColumn);
                }
                Run(device, UnitRows(na + d, batch * na, d), UnitRows(nb + d, batch * nb, d), batch, na, nb, d, firstRow, firstColumn, "unit " + what, Match);
                Run(device, TopKTests.Quantised(na, batch * na * d), TopKTests.Quantised(nb, batch * nb * d), batch, na, nb, d, firstRow, firstColumn,
                    "quantised " + what, Match);
            }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Interleaved_rows_as_tome_reads_its_keys_match_the_split_rows(bool portable)
    {
        // ToMe's CPU matching reads an image's keys in token order, A the even rows and B the odd (stride 2d); 601 tokens
        // of 64 pass the 16,384 staged floats, so the row-by-row path runs too. Coarse values: ties are common.
        var device = Backends.Cpu;
        foreach (var (batch, tokens, d) in new[] { (1, 2, 1), (2, 7, 5), (3, 50, 16), (2, 197, 64), (1, 601, 64) })
        {
            int na = (tokens + 1) / 2, nb = tokens / 2;
            var keys = TopKTests.Quantised(tokens, batch * tokens * d);
            float[] Rows(int parity) => Enumerable.Range(0, batch * tokens).Where(row => row % tokens % 2 == parity)
                .SelectMany(row => keys.AsSpan(row * d, d).ToArray()).ToArray();
            using var interleaved = device.FromArray(keys, batch * tokens * d);
            using var a = device.FromArray(Rows(0), batch * na * d);
            using var b = device.FromArray(Rows(1), batch * nb * d);
            (int[], float[]) Best(bool split)
            {
                using var index = Tensor<int>.Zeros(device, batch * na);
                using var score = device.Zeros(batch * na);
                for (int image = 0; image < batch; image++)
                {
                    var (x, y) = split ? (a, b) : (interleaved, interleaved);
                    var (aStart, bStart, ld) = split ? (image * na * d, image * nb * d, d) : (image * tokens * d, (image * tokens + 1) * d, 2 * d);
                    if (portable) Ops.BestRowsPortable(x.View, y.View, index.View, score.View, aStart, bStart, ld, image * na, na, nb, d, 1, 0);
                    else Ops.BestRows(x.View, y.View, index.View, score.View, aStart, bStart, ld, image * na, na, nb, d, 1, 0);
                }
                return (index.ToArray(), score.ToArray());
            }
            var (splitIndex, splitScore) = Best(split: true);
            var (index, score) = Best(split: false);
            index.Should().Equal(splitIndex, $"({batch}, {tokens}, {d})");
            score.Should().Equal(splitScore, $"({batch}, {tokens}, {d})");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_nan_dot_never_wins_in_either_body(bool portable)
    {
        // B row 3 is NaN, so every A row's dot with it is NaN: the best must be the float64 best of the other columns.
        const int na = 6, nb = 20, d = 16;
        var a = UnitRows(1, na, d);
        var b = UnitRows(2, nb, d);
        for (int e = 0; e < d; e++) b[3 * d + e] = float.NaN;
        var device = Backends.Cpu;
        using var x = device.FromArray(a, 1, na, d);
        using var y = device.FromArray(b, 1, nb, d);
        using var index = Tensor<int>.Zeros(device, 1, na);
        using var score = device.Zeros(1, na);
        if (portable) Ops.BestRowsPortable(x.View, y.View, index.View, score.View, 0, 0, d, 0, na, nb, d, 0, 0);
        else Ops.BestRows(x.View, y.View, index.View, score.View, 0, 0, d, 0, na, nb, d, 0, 0);
        var (got, best) = (index.ToArray(), score.ToArray());
        for (int i = 0; i < na; i++)
        {
            var dots = Enumerable.Range(0, nb).Select(j => j == 3 ? double.NegativeInfinity
                : Enumerable.Range(0, d).Sum(e => (double)a[i * d + e] * b[j * d + e])).ToArray();
            got[i].Should().Be(Array.IndexOf(dots, dots.Max()), $"row {i}");
            best[i].Should().BeApproximately((float)dots.Max(), 1e-5f);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Agrees_with_its_oracle_the_composed_cosine_similarity(string backend)
    {
        // The planners run NormalizeRows + BestMatch where ToMe's merge.py scores A x B by cosine and takes
        // each row's maximum: Ops.CosineSimilarity ([TestOracle]) is that composed path.
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, na, nb, d, firstRow) in new[] { (2, 7, 3, 5, 0), (2, 99, 98, 64, 1) })
        {
            using var a = device.FromArray(TestData.Uniform(na, batch * na * d), batch, na, d);
            using var b = device.FromArray(TestData.Uniform(nb, batch * nb * d), batch, nb, d);
            using var cosine = device.Zeros(batch, na, nb);
            Ops.CosineSimilarity(a, b, cosine, eps: 1e-6f);
            Ops.NormalizeRows(a, a, eps: 1e-6f);
            Ops.NormalizeRows(b, b, eps: 1e-6f);
            using var index = Tensor<int>.Zeros(device, batch, na);
            using var score = device.Zeros(batch, na);
            Ops.BestMatch(a, b, firstRow, 0, index, score);
            var (s, got, best) = (cosine.ToArray(), index.ToArray(), score.ToArray());
            for (int row = 0; row < batch * na; row++)
            {
                if (row % na < firstRow) continue;
                var scores = s.AsSpan(row * nb, nb).ToArray();
                got[row].Should().Be(Array.IndexOf(scores, scores.Max()), $"row {row} of ({batch}, {na}, {nb}, {d})");
                best[row].Should().BeApproximately(scores.Max(), 1e-5f);
            }
        }
    }

    [Fact]
    public void Bad_arguments_are_named()
    {
        var device = Backends.Cpu;
        using var a = device.Zeros(2, 3, 4);
        using var b = device.Zeros(2, 5, 4);
        using var narrow = device.Zeros(2, 5, 3);
        using var index = Tensor<int>.Zeros(device, 2, 3);
        using var score = device.Zeros(2, 3);
        using var wrongScore = device.Zeros(2, 4);
        var act = () => Ops.BestMatch(a, narrow, 0, 0, index, score);
        act.Should().Throw<ShapeMismatchException>().WithMessage("BestMatch: a has shape (2, 3, 4) and b (2, 5, 3); they need (B, Na, D) and (B, Nb, D).");
        var act2 = () => Ops.BestMatch(a, b, 0, 0, index, wrongScore);
        act2.Should().Throw<ShapeMismatchException>().WithMessage("BestMatch: score has shape (2, 4), expected (2, 3).");
        var act3 = () => Ops.BestMatch(a, b, 0, 5, index, score);
        act3.Should().Throw<ArgumentOutOfRangeException>().WithMessage("BestMatch: firstColumn must leave at least one of the 5 columns.*");
    }
}
