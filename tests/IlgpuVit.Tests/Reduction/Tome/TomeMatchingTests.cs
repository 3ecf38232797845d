// ToMe's plan builder (src/IlgpuVit/Reduction/Tome/TomeMatching.cs) against the plan its header defines,
// and end to end: the kernel chain ToMe's planner and the applier run (head-mean keys, split, best
// match, top-r, plan, IndexPlan with normalize, CombineRows) against a float64 implementation written
// from docs/methods.md (method 6), not from the kernels: unmerged A in order, then B with
// x_b = Σ size x / Σ size over b and the A tokens merged into it.
// Plan outputs are prefilled with junk, so a token the kernel forgets to write shows.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Kernels.TokenReduction;
using IlgpuVit.Tests.Support;
using static IlgpuVit.Tests.Kernels.TokenReduction.TokenPlanFixtures;

namespace IlgpuVit.Tests.Reduction.Tome;

public class TomeMatchingTests
{
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

            // The chain of ToMe's planner and the applier.
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
    public void Bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var destination = Tensor<int>.Zeros(device, 2, 7);
        using var weight = device.Zeros(2, 7);
        using var partner = Tensor<int>.Zeros(device, 2, 4);
        using var tooMany = Tensor<int>.Zeros(device, 2, 4);
        using var mask = Tensor<int>.Zeros(device, 2, 4);
        var badMerged = () => TomeMatching.TomePlan(partner, tooMany, weight, mask, destination, weight);
        badMerged.Should().Throw<ShapeMismatchException>().WithMessage("TomePlan: merged has shape (2, 4); it needs (2, r) with r < 4.");
    }

    [Theory]
    [InlineData(1, 3, 1, 1, 4)]
    [InlineData(2, 7, 2, 2, 3)]
    [InlineData(3, 50, 4, 4, 16)]
    [InlineData(2, 197, 98, 3, 24)]
    [InlineData(2, 7, 3, 2, 3, false)]
    [InlineData(3, 50, 25, 4, 16, false)]
    public void Match_on_the_cpu_in_one_launch_gives_the_plan_of_the_six_kernels_on_the_gpu_simulator(int batch, int tokens, int r, int heads, int d,
        bool classToken = true)
    {
        int c = heads * d;
        var qkv = TestData.Uniform(tokens + c, batch * tokens * 3 * c, 1f);
        var sizes = TokenPlanFixtures.Positive(r, batch * tokens, 1f, 4f);
        int channels = c + 3;     // the merged tokens' width: a 16-lane body and a tail
        var x = TestData.Uniform(tokens * r + 5, batch * tokens * channels, 2f);
        (int[] Destination, float[] Weight, int[] Offsets, int[] Sources, float[] Sizes, float[] Bias, float[] Combined, float[] Reference) Run(Device device,
            bool givenKeys = false)
        {
            using var tqkv = device.FromArray(qkv, batch, tokens, 3 * c);
            using var keys = givenKeys ? device.Zeros(batch, tokens, d) : null;     // as the block's attention writes them
            if (keys is not null) Ops.HeadMeanKeys(tqkv, heads, keys, normalize: true);
            using var tsizes = device.FromArray(sizes, batch, tokens);
            using var tx = device.FromArray(x, batch, tokens, channels);
            using var combined = device.FromArray(Enumerable.Repeat(float.NaN, batch * (tokens - r) * channels).ToArray(), batch, tokens - r, channels);
            using var reference = device.Zeros(batch, tokens - r, channels);
            using var destination = Tensor<int>.FromArray(device, Enumerable.Repeat(-7, batch * tokens).ToArray(), batch, tokens);
            using var weight = device.FromArray(Enumerable.Repeat(float.NaN, batch * tokens).ToArray(), batch, tokens);
            var index = PlanIndex.Empty(device, batch, tokens, tokens - r, keyBias: true);
            TomeMatching.Match(tqkv, heads, tsizes, r, destination, weight, index, lambda: 0.5f, classToken, tx, combined, keys);
            Ops.CombineRows(tx, index.Offsets, index.Sources, weight, reference);
            var result = (destination.ToArray(), weight.ToArray(), index.Offsets.ToArray(), index.Sources.ToArray(), index.Sizes.ToArray(),
                index.KeyBias!.ToArray(), combined.ToArray(), reference.ToArray());
            index.KeyBias.Dispose();
            index.Offsets.Dispose();
            index.Sources.Dispose();
            index.Sizes.Dispose();
            return result;
        }
        var cpu = Run(Backends.Cpu);
        var simulator = Run(Backends.GpuSimulator);
        foreach (var (given, without) in new[] { (Run(Backends.Cpu, givenKeys: true), cpu), (Run(Backends.GpuSimulator, givenKeys: true), simulator) })
        {
            const string because = "given the head-mean keys, the plan and merge are those that average them";
            given.Sources.Should().Equal(without.Sources, because);
            given.Weight.Should().Equal(without.Weight, because);
            given.Combined.Should().Equal(without.Combined, because);
            given.Bias.Should().Equal(without.Bias, because);
        }
        cpu.Destination.Should().Equal(simulator.Destination);
        cpu.Weight.Should().Equal(simulator.Weight, "the weights are the sizes, normalised per output row in one order");
        cpu.Offsets.Should().Equal(simulator.Offsets);
        cpu.Sources.Should().Equal(simulator.Sources);
        cpu.Sizes.Should().Equal(simulator.Sizes);
        cpu.Combined.Should().Equal(cpu.Reference, "merging while matching gives CombineRows' values for the plan, bit for bit");
        simulator.Combined.Should().Equal(simulator.Reference, "the simulator's chain ends in CombineRows");
        Check.Close(cpu.Combined, simulator.Combined.Select(v => (double)v).ToArray(), 1e-6, 1e-6, "the merged tokens on the cpu and the simulator");
        Check.Close(cpu.Bias, cpu.Sizes.Select(v => 0.5 * Math.Log(v)).ToArray(), 1e-6, 1e-6, "λ log(size) on the cpu");
        Check.Close(simulator.Bias, cpu.Sizes.Select(v => 0.5 * Math.Log(v)).ToArray(), 1e-6, 1e-6, "λ log(size) on the simulator");
        cpu.Destination.Should().OnlyContain(v => v >= 0 && v < tokens - r, "every token goes to one of the T − r output rows");
        cpu.Sizes.Sum().Should().BeApproximately(sizes.Sum(), 1e-3f * sizes.Sum(), "sizes are conserved");
        var bad = () => TomeMatching.Match(Backends.Cpu.Zeros(batch, tokens, 3 * c), heads, Backends.Cpu.Zeros(batch, tokens), tokens / 2 + 1,
            Tensor<int>.Empty(Backends.Cpu, batch, tokens), Backends.Cpu.Zeros(batch, tokens), PlanIndex.Empty(Backends.Cpu, batch, tokens, 1),
            classToken: classToken);
        bad.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*r must lie in*");
    }

    /// <summary>
    /// Without a class token (tome:cls=0), as ToMe's merge.py with class_token=False: A = even tokens, token 0
    /// among them may merge; the r best-scored A tokens merge into their partners, the unmerged A tokens come
    /// first in descending score order (merge.py's argsort, ties to the lower index), then every B token.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Without_a_class_token_unmerged_a_tokens_come_in_descending_score_order(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, r) in new[] { (1, 2, 1), (2, 7, 1), (2, 8, 4), (3, 31, 15), (2, 32, 5), (1, 33, 16), (2, 197, 50) })
        {
            string what = $"({batch}, {tokens}, r {r})";
            int a = (tokens + 1) / 2, bs = tokens / 2;
            var random = new Random(tokens * 11 + r);
            var partner = Enumerable.Range(0, batch * a).Select(_ => random.Next(bs)).ToArray();
            // Scores with ties (a few values), so the tie order shows.
            var best = Enumerable.Range(0, batch * a).Select(_ => (float)random.Next(5)).ToArray();
            var sizes = TokenPlanFixtures.Positive(tokens + r, batch * tokens, 1f, 5f);
            using var tp = Tensor<int>.FromArray(device, partner, batch, a);
            using var tb = device.FromArray(best, batch, a);
            using var order = Tensor<int>.Zeros(device, batch, a);
            using var ts = device.FromArray(sizes, batch, tokens);
            Ops.TopK(tb, order);
            var (destination, weight) = RunPlan(device, batch, tokens, (dst, w) => TomeMatching.TomePlanInScoreOrder(tp, order, r, ts, dst, w));

            var expected = new int[batch * tokens];
            for (int b = 0; b < batch; b++)
            {
                var byScore = Enumerable.Range(0, a).OrderByDescending(i => best[b * a + i]).ThenBy(i => i).ToArray();
                for (int p = 0; p < a; p++)
                    expected[b * tokens + 2 * byScore[p]] = p < r ? a - r + partner[b * a + byScore[p]] : p - r;
                for (int i = 0; i < bs; i++) expected[b * tokens + 2 * i + 1] = a - r + i;
            }
            Check.Equal(destination, expected, $"destination {what}");
            Check.Close(weight, sizes.ToDouble(), 0, 0, $"weight {what}");
        }
        using var d = Tensor<int>.Zeros(device, 1, 7);
        using var w = device.Zeros(1, 7);
        using var p4 = Tensor<int>.Zeros(device, 1, 4);
        var tooMany = () => TomeMatching.TomePlanInScoreOrder(p4, p4, 4, w, d, w);
        tooMany.Should().Throw<ShapeMismatchException>().WithMessage("TomePlanInScoreOrder: r is 4; 7 tokens merge at most 3.");
    }

    [Fact]
    public void Tome_spec_takes_cls_0_for_models_without_a_class_token()
    {
        ((TomePlanner)ReductionSpec.Parse("tome:r=4,cls=0")!.Planner).ClassToken.Should().BeFalse();
        ((TomePlanner)ReductionSpec.Parse("tome:r=4")!.Planner).ClassToken.Should().BeTrue();
        var bad = () => ReductionSpec.Parse("tome:r=4,cls=yes");
        bad.Should().Throw<FormatException>().WithMessage("*cls is 1*or 0*got 'yes'*");
    }
}
