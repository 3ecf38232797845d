using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public class TokenSelectionTests
{
    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Cls_attention_score_is_the_head_mean_of_the_cls_row(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (b, h, t) in new[] { (1, 1, 2), (3, 3, 7), (2, 6, 197), (4, 4, 50) })
        {
            var p = TestData.Uniform(b * h + t, b * h * t * t);
            var expected = new double[b * (t - 1)];
            for (int i = 0; i < b; i++)
                for (int j = 1; j < t; j++)
                    for (int k = 0; k < h; k++) expected[i * (t - 1) + j - 1] += p[((i * h + k) * t) * t + j] / (double)h;
            using var tp = device.FromArray(p, b, h, t, t);
            using var rows = device.FromArray(ClsRows(p, b * h, t), b, h, 1, t);   // what inference keeps
            using var scores = device.Zeros(b, t - 1);
            Ops.ClsAttentionScore(tp, scores);
            Check.Close(scores.ToArray(), expected, 1e-6, 1e-7, $"scores ({b}, {h}, {t})");
            using var fromRows = device.Zeros(b, t - 1);
            Ops.ClsAttentionScore(rows, fromRows);
            fromRows.ToArray().Should().Equal(scores.ToArray(), $"scores from the CLS rows ({b}, {h}, {t})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Kept_index_is_cls_then_the_selected_tokens_in_order(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        int[] selected = [4, 0, 2, /* row 2 */ 1, 5, 3];
        using var ts = Tensor<int>.FromArray(device, selected, 2, 3);
        using var mask = Tensor<int>.Zeros(device, 2, 7);
        using var kept = Tensor<int>.Zeros(device, 2, 4);
        Ops.KeptTokenIndex(ts, mask, kept);
        kept.ToArray().Should().Equal(0, 1, 3, 5, /* row 2 */ 0, 2, 4, 6);
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Dropped_list_holds_the_other_tokens_in_order(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (b, t, k) in new[] { (1, 3, 1), (2, 7, 3), (3, 33, 31), (2, 32, 1), (2, 197, 98) })
        {
            var (kept, dropped) = TokenPlanFixtures.Split(t * k, b, t, k);
            // Selected as Ops.TopK gives it: indices among tokens 1..T-1, in score order, not token order.
            var random = new Random(t + k);
            var selected = Enumerable.Range(0, b)
                .SelectMany(i => kept.Skip(i * (k + 1) + 1).Take(k).Select(j => j - 1).OrderBy(_ => random.Next())).ToArray();
            using var ts = Tensor<int>.FromArray(device, selected, b, k);
            using var mask = Tensor<int>.Zeros(device, b, t);
            using var tk = Tensor<int>.FromArray(device, Enumerable.Repeat(-5, b * (k + 1)).ToArray(), b, k + 1);
            using var td = Tensor<int>.FromArray(device, Enumerable.Repeat(-5, b * (t - 1 - k)).ToArray(), b, t - 1 - k);
            Ops.KeptTokenIndex(ts, mask, tk, td);
            Check.Equal(tk.ToArray(), kept, $"kept ({b}, {t}, {k})");
            Check.Equal(td.ToArray(), dropped, $"dropped ({b}, {t}, {k})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Select_tokens_keeps_the_top_scores_in_token_order(string backend)
    {
        // The CPU runs one fused kernel, the GPU path (and the simulator) three; both must match float64.
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (b, h, t, keep) in new[] { (1, 1, 3, 1), (3, 3, 7, 4), (2, 6, 197, 177), (4, 4, 50, 44), (2, 2, 33, 1) })
            foreach (bool tied in new[] { false, true })
            {
                var p = tied ? TopKTests.Quantised(b + t, b * h * t * t).Select(Math.Abs).ToArray() : TestData.Uniform(b * h + t, b * h * t * t);
                using var tp = device.FromArray(p, b, h, t, t);
                using var scores = device.Zeros(b, t - 1);
                using var selected = Tensor<int>.Zeros(device, b, keep);
                using var mask = Tensor<int>.Zeros(device, b, t);
                using var kept = Tensor<int>.Zeros(device, b, keep + 1);
                using var dropped = Tensor<int>.Zeros(device, b, t - 1 - keep);
                Ops.SelectTokens(tp, scores, selected, mask, kept, dropped);
                // The reference ranks the float32 scores the kernel computed (ties are decided on them), after checking them.
                var got = scores.ToArray();
                var expected = new double[b * (t - 1)];
                for (int i = 0; i < b; i++)
                    for (int j = 1; j < t; j++)
                        for (int k = 0; k < h; k++) expected[i * (t - 1) + j - 1] += p[((i * h + k) * t) * t + j] / (double)h;
                Check.Close(got, expected, 1e-6, 1e-7, $"scores ({b}, {h}, {t})");
                var expectedKept = new List<int>();
                var expectedDropped = new List<int>();
                for (int i = 0; i < b; i++)
                {
                    var top = Enumerable.Range(1, t - 1).OrderByDescending(j => got[i * (t - 1) + j - 1]).ThenBy(j => j).Take(keep).ToHashSet();
                    expectedKept.Add(0);
                    expectedKept.AddRange(Enumerable.Range(1, t - 1).Where(top.Contains));
                    expectedDropped.AddRange(Enumerable.Range(1, t - 1).Where(j => !top.Contains(j)));
                }
                Check.Equal(kept.ToArray(), expectedKept.ToArray(), $"kept ({b}, {h}, {t}, {keep}, tied {tied})");
                Check.Equal(dropped.ToArray(), expectedDropped.ToArray(), $"dropped ({b}, {h}, {t}, {keep}, tied {tied})");

                // From the CLS rows alone (B, H, 1, T), what inference keeps: the same selection.
                using var rows = device.FromArray(ClsRows(p, b * h, t), b, h, 1, t);
                using var keptFromRows = Tensor<int>.Zeros(device, b, keep + 1);
                using var droppedFromRows = Tensor<int>.Zeros(device, b, t - 1 - keep);
                Ops.SelectTokens(rows, scores, selected, mask, keptFromRows, droppedFromRows);
                Check.Equal(keptFromRows.ToArray(), expectedKept.ToArray(), $"kept from the CLS rows ({b}, {h}, {t}, {keep}, tied {tied})");
                Check.Equal(droppedFromRows.ToArray(), expectedDropped.ToArray(), $"dropped from the CLS rows ({b}, {h}, {t}, {keep}, tied {tied})");
            }
    }

    /// <summary>Row 0 of each of the <paramref name="heads"/> (T, T) blocks of <paramref name="p"/>: (heads, 1, T).</summary>
    private static float[] ClsRows(float[] p, int heads, int t) =>
        Enumerable.Range(0, heads).SelectMany(z => p.Skip(z * t * t).Take(t)).ToArray();

    [Fact]
    public void Bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var p = device.Zeros(2, 3, 5, 5);
        using var wrong = device.Zeros(2, 5);
        var act = () => Ops.ClsAttentionScore(p, wrong);
        act.Should().Throw<ShapeMismatchException>().WithMessage("ClsAttentionScore: scores has shape (2, 5), expected (2, 4).");
        using var twoRows = device.Zeros(2, 3, 2, 5);
        var rows = () => Ops.ClsAttentionScore(twoRows, wrong);
        rows.Should().Throw<ShapeMismatchException>().WithMessage(
            "ClsAttentionScore: probabilities have shape (2, 3, 2, 5); they need (B, H, T, T) or their CLS rows (B, H, 1, T), with T ≥ 2.");
        using var selected = Tensor<int>.Zeros(device, 2, 5);
        using var mask = Tensor<int>.Zeros(device, 2, 5);
        using var kept = Tensor<int>.Zeros(device, 2, 6);
        var act2 = () => Ops.KeptTokenIndex(selected, mask, kept);
        act2.Should().Throw<ShapeMismatchException>().WithMessage("*K < T*");
        using var fewSelected = Tensor<int>.Zeros(device, 2, 3);
        using var fewKept = Tensor<int>.Zeros(device, 2, 4);
        using var wrongDropped = Tensor<int>.Zeros(device, 2, 2);
        var act3 = () => Ops.KeptTokenIndex(fewSelected, mask, fewKept, wrongDropped);
        act3.Should().Throw<ShapeMismatchException>().WithMessage("KeptTokenIndex: dropped has shape (2, 2), expected (2, 1).");
    }
}
