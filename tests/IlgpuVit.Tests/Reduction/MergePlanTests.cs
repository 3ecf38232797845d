// The plan builders of the merge methods (EvitFusion.cs, EtpsSqueeze.cs, TomeMatching.cs) against
// the plans their headers define, and end to end: the kernel chains the eTPS and ToMe reducers run
// (selection, host search or matching, plan, IndexPlan with normalize, CombineRows) against float64
// implementations written from methods.md (methods 5 and 6), not from the kernels:
//   eTPS: R_i <- (e R_i + Σ_{j→i} exp(c_ji) P_j) / (e + Σ_{j→i} exp(c_ji)),  c = cos / tau, host = argmax_{i ≥ 1} c
//   ToMe: unmerged A in order, then B with x_b = Σ size x / Σ size over b and the A tokens merged into it
// Plan outputs are prefilled with junk, so a token the kernel forgets to write shows.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Kernels.TokenReduction;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels;

public class MergePlanTests
{
    // (B, T, K): K tokens kept by score beside CLS, T − 1 − K dropped (one at least).
    private static readonly (int B, int T, int K)[] Splits = [(1, 3, 1), (2, 7, 3), (3, 31, 15), (2, 33, 1), (2, 197, 98), (1, 32, 30)];

    private static (int[] Destination, float[] Weight) RunPlan(Device device, int batch, int tokens, Action<Tensor<int>, Tensor<float>> fill)
    {
        using var destination = Tensor<int>.FromArray(device, Enumerable.Repeat(-99, batch * tokens).ToArray(), batch, tokens);
        using var weight = device.FromArray(Enumerable.Repeat(float.NaN, batch * tokens).ToArray(), batch, tokens);
        fill(destination, weight);
        return (destination.ToArray(), weight.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Evit_keeps_the_kept_rows_and_fuses_the_dropped_by_score_into_the_last(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, keep) in Splits)
        {
            int k1 = keep + 1, d = tokens - k1;
            var (kept, dropped) = TokenPlanFixtures.Split(tokens * 3 + keep, batch, tokens, keep);
            var scores = TokenPlanFixtures.Positive(tokens, batch * (tokens - 1), 0f, 1f);
            using var tk = Tensor<int>.FromArray(device, kept, batch, k1);
            using var td = Tensor<int>.FromArray(device, dropped, batch, d);
            using var ts = device.FromArray(scores, batch, tokens - 1);
            var (destination, weight) = RunPlan(device, batch, tokens, (dst, w) => EvitFusion.EvitPlan(tk, td, ts, dst, w));
            var expectedDestination = new int[batch * tokens];
            var expectedWeight = new double[batch * tokens];
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < k1; i++) (expectedDestination[b * tokens + kept[b * k1 + i]], expectedWeight[b * tokens + kept[b * k1 + i]]) = (i, 1);
                foreach (int j in dropped.AsSpan(b * d, d)) (expectedDestination[b * tokens + j], expectedWeight[b * tokens + j]) = (k1, scores[b * (tokens - 1) + j - 1]);
            }
            Check.Equal(destination, expectedDestination, $"destination ({batch}, {tokens}, {keep})");
            Check.Close(weight, expectedWeight, 0, 0, $"weight ({batch}, {tokens}, {keep})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Etps_weighs_kept_rows_by_e_and_guests_by_exp_of_cos_over_tau_at_their_host(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, keep) in Splits)
            foreach (float tau in new[] { 1f, 0.37f, 4f })
            {
                int k1 = keep + 1, d = tokens - k1;
                var (kept, dropped) = TokenPlanFixtures.Split(tokens + keep * 5, batch, tokens, keep);
                var random = new Random(tokens + d);
                var hosts = Enumerable.Range(0, batch * d).Select(_ => 1 + random.Next(keep)).ToArray();
                var best = TestData.Uniform(d + 3, batch * d);
                using var tk = Tensor<int>.FromArray(device, kept, batch, k1);
                using var td = Tensor<int>.FromArray(device, dropped, batch, d);
                using var th = Tensor<int>.FromArray(device, hosts, batch, d);
                using var tb = device.FromArray(best, batch, d);
                var (destination, weight) = RunPlan(device, batch, tokens, (dst, w) => EtpsSqueeze.EtpsPlan(tk, td, th, tb, tau, dst, w));
                var expectedDestination = new int[batch * tokens];
                var expectedWeight = new double[batch * tokens];
                for (int b = 0; b < batch; b++)
                {
                    for (int i = 0; i < k1; i++) (expectedDestination[b * tokens + kept[b * k1 + i]], expectedWeight[b * tokens + kept[b * k1 + i]]) = (i, Math.E);
                    for (int j = 0; j < d; j++)
                        (expectedDestination[b * tokens + dropped[b * d + j]], expectedWeight[b * tokens + dropped[b * d + j]]) =
                            (hosts[b * d + j], Math.Exp(best[b * d + j] / (double)tau));
                }
                Check.Equal(destination, expectedDestination, $"destination ({batch}, {tokens}, {keep}, tau {tau})");
                Check.Close(weight, expectedWeight, 2e-6, 0, $"weight ({batch}, {tokens}, {keep}, tau {tau})");
            }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Tome_plan_keeps_unmerged_a_in_order_then_b_and_sends_merged_a_to_their_partners(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens) in new[] { (1, 3), (2, 7), (2, 8), (3, 31), (2, 32), (1, 33), (2, 197) })
        {
            int a = (tokens + 1) / 2, bs = tokens / 2;
            foreach (int r in new[] { 1, a / 2, a - 1 }.Distinct())
            {
                string what = $"({batch}, {tokens}, r {r})";
                var random = new Random(tokens * 7 + r);
                var partner = Enumerable.Range(0, batch * a).Select(_ => random.Next(bs)).ToArray();
                // Merged A tokens (never CLS, A row 0), in no particular order, as Ops.TopK gives them.
                var merged = Enumerable.Range(0, batch).SelectMany(_ => Enumerable.Range(1, a - 1).OrderBy(_ => random.Next()).Take(r)).ToArray();
                var sizes = TokenPlanFixtures.Positive(tokens + r, batch * tokens, 1f, 5f);
                using var tp = Tensor<int>.FromArray(device, partner, batch, a);
                using var tm = Tensor<int>.FromArray(device, merged, batch, r);
                using var ts = device.FromArray(sizes, batch, tokens);
                using var mask = Tensor<int>.FromArray(device, Enumerable.Repeat(5, batch * a).ToArray(), batch, a);
                var (destination, weight) = RunPlan(device, batch, tokens, (dst, w) => TomeMatching.TomePlan(tp, tm, ts, mask, dst, w));

                var expected = new int[batch * tokens];
                for (int b = 0; b < batch; b++)
                {
                    var merging = merged.Skip(b * r).Take(r).ToHashSet();
                    int unmerged = a - r, next = 0;
                    for (int i = 0; i < a; i++)
                        expected[b * tokens + 2 * i] = merging.Contains(i) ? unmerged + partner[b * a + i] : next++;
                    next.Should().Be(unmerged);
                    for (int i = 0; i < bs; i++) expected[b * tokens + 2 * i + 1] = unmerged + i;
                }
                Check.Equal(destination, expected, $"destination {what}");
                destination.Where((_, i) => i % tokens == 0).Should().OnlyContain(m => m == 0, "CLS stays first " + what);
                Check.Close(weight, sizes.ToDouble(), 0, 0, $"weight {what}");
            }
        }
    }

    /// <summary>Top k of values (distinct by construction) as a set of indices, ties to the lower index.</summary>
    private static HashSet<int> TopIndices(IReadOnlyList<double> values, int k) =>
        Enumerable.Range(0, values.Count).OrderByDescending(i => values[i]).ThenBy(i => i).Take(k).ToHashSet();

    private static double Cosine(float[] x, int u, int v, int c, double floor)
    {
        double dot = 0, nu = 0, nv = 0;
        for (int e = 0; e < c; e++)
        {
            dot += (double)x[u * c + e] * x[v * c + e];
            nu += (double)x[u * c + e] * x[u * c + e];
            nv += (double)x[v * c + e] * x[v * c + e];
        }
        return dot / (Math.Max(Math.Sqrt(nu), floor) * Math.Max(Math.Sqrt(nv), floor));
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Etps_chain_squeezes_each_pruned_token_into_its_most_similar_reserved_token(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, channels, keep, tau) in new[] { (1, 7, 7, 1, 1f), (2, 33, 33, 15, 0.5f), (3, 31, 16, 29, 1f), (2, 197, 64, 98, 2f) })
        {
            string what = $"({batch}, {tokens}, {channels}, keep {keep}, tau {tau})";
            int k1 = keep + 1, d = tokens - k1;
            var x = TestData.Uniform(tokens + channels, batch * tokens * channels);
            var scores = TokenPlanFixtures.Positive(tokens * 2, batch * (tokens - 1), 0f, 1f);
            var sizes = TokenPlanFixtures.Positive(tokens * 3, batch * tokens, 1f, 4f);

            // The chain of EtpsReducer: Top-K split, cosine host search on x, plan, normalised combine.
            using var tx = device.FromArray(x, batch, tokens, channels);
            using var tscores = device.FromArray(scores, batch, tokens - 1);
            using var tsizes = device.FromArray(sizes, batch, tokens);
            using var selected = Tensor<int>.Zeros(device, batch, keep);
            using var mask = Tensor<int>.Zeros(device, batch, tokens);
            using var kept = Tensor<int>.Zeros(device, batch, k1);
            using var dropped = Tensor<int>.Zeros(device, batch, d);
            using var guests = device.Zeros(batch, d, channels);
            using var reserved = device.Zeros(batch, k1, channels);
            using var hosts = Tensor<int>.Zeros(device, batch, d);
            using var best = device.Zeros(batch, d);
            using var destination = Tensor<int>.Zeros(device, batch, tokens);
            using var weight = device.Zeros(batch, tokens);
            using var offsets = Tensor<int>.Zeros(device, batch, k1 + 1);
            using var sources = Tensor<int>.Zeros(device, batch, tokens);
            using var newSizes = device.Zeros(batch, k1);
            using var y = device.Zeros(batch, k1, channels);
            Ops.TopK(tscores, selected);
            Ops.KeptTokenIndex(selected, mask, kept, dropped);
            Ops.GatherRows(tx, dropped, guests);
            Ops.GatherRows(tx, kept, reserved);
            Ops.NormalizeRows(guests, guests, eps: 1e-6f);
            Ops.NormalizeRows(reserved, reserved, eps: 1e-6f);
            Ops.BestMatch(guests, reserved, firstRow: 0, firstColumn: 1, hosts, best);
            EtpsSqueeze.EtpsPlan(kept, dropped, hosts, best, tau, destination, weight);
            Ops.IndexPlan(destination, weight, tsizes, normalize: true, offsets, sources, newSizes);
            Ops.CombineRows(tx, offsets, sources, weight, y);

            var expectedHosts = new int[batch * d];
            var expectedY = new double[batch * k1 * channels];
            var expectedSizes = new double[batch * k1];
            for (int b = 0; b < batch; b++)
            {
                var top = TopIndices(scores.Skip(b * (tokens - 1)).Take(tokens - 1).Select(s => (double)s).ToList(), keep);
                var r = new[] { 0 }.Concat(Enumerable.Range(1, tokens - 1).Where(j => top.Contains(j - 1))).ToArray();
                var p = Enumerable.Range(1, tokens - 1).Where(j => !top.Contains(j - 1)).ToArray();
                var numerator = new double[k1, channels];
                var denominator = new double[k1];
                for (int i = 0; i < k1; i++)
                {
                    double self = i == 0 ? 1 : Math.E;   // CLS hosts no one: it passes through unchanged
                    denominator[i] = self;
                    expectedSizes[b * k1 + i] = sizes[b * tokens + r[i]];
                    for (int c = 0; c < channels; c++) numerator[i, c] = self * x[(b * tokens + r[i]) * channels + c];
                }
                for (int j = 0; j < d; j++)
                {
                    var c = Enumerable.Range(1, keep).Select(i => Cosine(x, b * tokens + p[j], b * tokens + r[i], channels, 1e-6) / tau).ToList();
                    int host = 1 + Enumerable.Range(0, keep).OrderByDescending(i => c[i]).ThenBy(i => i).First();
                    expectedHosts[b * d + j] = host;
                    double w = Math.Exp(c[host - 1]);
                    denominator[host] += w;
                    expectedSizes[b * k1 + host] += sizes[b * tokens + p[j]];
                    for (int e = 0; e < channels; e++) numerator[host, e] += w * x[(b * tokens + p[j]) * channels + e];
                }
                for (int i = 0; i < k1; i++)
                    for (int e = 0; e < channels; e++) expectedY[(b * k1 + i) * channels + e] = numerator[i, e] / denominator[i];
            }
            Check.Equal(hosts.ToArray(), expectedHosts, $"hosts {what}");
            Check.Close(y.ToArray(), expectedY, 1e-5, 1e-5, $"squeezed tokens {what}");
            Check.Close(newSizes.ToArray(), expectedSizes, 1e-6, 1e-6, $"sizes {what}");
            newSizes.ToArray().Sum().Should().BeApproximately(sizes.Sum(), 1e-3f, "sizes are conserved " + what);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Tome_chain_merges_the_best_matched_a_tokens_into_b_by_size_weighted_mean(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, heads, headDim, channels, r) in new[] { (1, 7, 1, 7, 7, 1), (2, 33, 2, 8, 31, 16), (2, 32, 3, 5, 33, 8), (2, 197, 4, 16, 64, 50) })
        {
            string what = $"({batch}, {tokens}, {heads} x {headDim}, {channels}, r {r})";
            int a = (tokens + 1) / 2, bs = tokens / 2, qc = heads * headDim, outputs = tokens - r;
            var qkv = TestData.Uniform(tokens + heads, batch * tokens * 3 * qc);
            var x = TestData.Uniform(tokens + channels, batch * tokens * channels);
            var sizes = TokenPlanFixtures.Positive(tokens * 5, batch * tokens, 1f, 4f);

            // The chain of TomeReducer.
            using var tq = device.FromArray(qkv, batch, tokens, 3 * qc);
            using var tx = device.FromArray(x, batch, tokens, channels);
            using var tsizes = device.FromArray(sizes, batch, tokens);
            using var keys = device.Zeros(batch, tokens, headDim);
            using var keysA = device.Zeros(batch, a, headDim);
            using var keysB = device.Zeros(batch, bs, headDim);
            using var partner = Tensor<int>.Zeros(device, batch, a);
            using var best = device.Zeros(batch, a);
            using var merged = Tensor<int>.Zeros(device, batch, r);
            using var mask = Tensor<int>.Zeros(device, batch, a);
            using var destination = Tensor<int>.Zeros(device, batch, tokens);
            using var weight = device.Zeros(batch, tokens);
            using var offsets = Tensor<int>.Zeros(device, batch, outputs + 1);
            using var sources = Tensor<int>.Zeros(device, batch, tokens);
            using var newSizes = device.Zeros(batch, outputs);
            using var y = device.Zeros(batch, outputs, channels);
            Ops.HeadMeanKeys(tq, heads, keys, normalize: true);
            Ops.SplitAlternate(keys, keysA, keysB);
            Ops.BestMatch(keysA, keysB, firstRow: 1, firstColumn: 0, partner, best);
            Ops.TopK(best, merged);
            TomeMatching.TomePlan(partner, merged, tsizes, mask, destination, weight);
            Ops.IndexPlan(destination, weight, tsizes, normalize: true, offsets, sources, newSizes);
            Ops.CombineRows(tx, offsets, sources, weight, y);

            var expectedY = new double[batch * outputs * channels];
            var expectedSizes = new double[batch * outputs];
            for (int b = 0; b < batch; b++)
            {
                // Keys averaged over heads, one row per token of this image.
                var key = new float[tokens * headDim];
                for (int t = 0; t < tokens; t++)
                    for (int e = 0; e < headDim; e++)
                        key[t * headDim + e] = (float)Enumerable.Range(0, heads).Average(h => (double)qkv[((b * tokens + t) * 3 + 1) * qc + h * headDim + e]);
                var partnerOf = new int[a];
                var bestOf = new double[a - 1];
                for (int i = 0; i < a; i++)
                {
                    var cos = Enumerable.Range(0, bs).Select(j => Cosine(key, 2 * i, 2 * j + 1, headDim, 1e-12)).ToList();
                    partnerOf[i] = Enumerable.Range(0, bs).OrderByDescending(j => cos[j]).ThenBy(j => j).First();
                    if (i > 0) bestOf[i - 1] = cos[partnerOf[i]];   // the CLS row never merges (its score is −inf)
                }
                var merging = TopIndices(bestOf, r).Select(i => i + 1).ToHashSet();
                var rows = new List<(double Size, double[] Sum)>();
                for (int i = 0; i < a; i++)
                    if (!merging.Contains(i)) rows.Add((sizes[b * tokens + 2 * i], Enumerable.Range(0, channels).Select(c => (double)sizes[b * tokens + 2 * i] * x[(b * tokens + 2 * i) * channels + c]).ToArray()));
                int unmerged = rows.Count;
                for (int j = 0; j < bs; j++)
                {
                    var from = merging.Where(i => partnerOf[i] == j).Select(i => 2 * i).Append(2 * j + 1).ToList();
                    rows.Add((from.Sum(t => (double)sizes[b * tokens + t]),
                        Enumerable.Range(0, channels).Select(c => from.Sum(t => (double)sizes[b * tokens + t] * x[(b * tokens + t) * channels + c])).ToArray()));
                }
                rows.Count.Should().Be(outputs);
                for (int m = 0; m < outputs; m++)
                {
                    expectedSizes[b * outputs + m] = rows[m].Size;
                    for (int c = 0; c < channels; c++) expectedY[(b * outputs + m) * channels + c] = rows[m].Sum[c] / rows[m].Size;
                }
                unmerged.Should().Be(a - r);
            }
            Check.Close(y.ToArray(), expectedY, 1e-5, 1e-5, $"merged tokens {what}");
            Check.Close(newSizes.ToArray(), expectedSizes, 1e-6, 1e-6, $"sizes {what}");
        }
    }

    [Fact]
    public void Bad_shapes_and_a_non_positive_tau_are_named()
    {
        var device = Backends.Cpu;
        using var kept = Tensor<int>.Zeros(device, 2, 3);
        using var dropped = Tensor<int>.Zeros(device, 2, 4);
        using var wrongDropped = Tensor<int>.Zeros(device, 2, 3);
        using var scores = device.Zeros(2, 6);
        using var wrongScores = device.Zeros(2, 7);
        using var destination = Tensor<int>.Zeros(device, 2, 7);
        using var weight = device.Zeros(2, 7);
        using var best = device.Zeros(2, 4);
        using var allKept = Tensor<int>.Zeros(device, 2, 7);

        var badScores = () => EvitFusion.EvitPlan(kept, dropped, wrongScores, destination, weight);
        badScores.Should().Throw<ShapeMismatchException>().WithMessage("EvitPlan: scores has shape (2, 7), expected (2, 6).");
        var badDropped = () => EvitFusion.EvitPlan(kept, wrongDropped, scores, destination, weight);
        badDropped.Should().Throw<ShapeMismatchException>().WithMessage("EvitPlan: dropped has shape (2, 3), expected (2, 4).");
        var nothingDropped = () => EtpsSqueeze.EtpsPlan(allKept, dropped, dropped, best, 1f, destination, weight);
        nothingDropped.Should().Throw<ShapeMismatchException>().WithMessage("EtpsPlan: kept has shape (2, 7) and destination (2, 7)*K + 1 < T*");
        var badHosts = () => EtpsSqueeze.EtpsPlan(kept, dropped, wrongDropped, best, 1f, destination, weight);
        badHosts.Should().Throw<ShapeMismatchException>().WithMessage("EtpsPlan: hosts has shape (2, 3), expected (2, 4).");
        foreach (float tau in new[] { 0f, -1f, float.NaN })
        {
            var badTau = () => EtpsSqueeze.EtpsPlan(kept, dropped, dropped, best, tau, destination, weight);
            badTau.Should().Throw<ArgumentOutOfRangeException>().WithMessage("EtpsPlan: tau must be positive.*").Which.ParamName.Should().Be("tau");
        }

        using var partner = Tensor<int>.Zeros(device, 2, 4);
        using var tooMany = Tensor<int>.Zeros(device, 2, 4);
        using var mask = Tensor<int>.Zeros(device, 2, 4);
        var badMerged = () => TomeMatching.TomePlan(partner, tooMany, weight, mask, destination, weight);
        badMerged.Should().Throw<ShapeMismatchException>().WithMessage("TomePlan: merged has shape (2, 4); it needs (2, r) with r < 4.");
    }
}
