// eTPS's plan builder (src/IlgpuVit/Reduction/Etps/EtpsSqueeze.cs) against the plan its header defines,
// and end to end: the kernel chain eTPS's planner and the applier run (selection, host search, plan,
// IndexPlan with normalize, CombineRows) against a float64 implementation written from docs/methods.md
// (method 5), not from the kernels:
//   R_i <- (e R_i + Σ_{j→i} exp(c_ji) P_j) / (e + Σ_{j→i} exp(c_ji)),  c = cos / tau, host = argmax_{i ≥ 1} c
// Plan outputs are prefilled with junk, so a token the kernel forgets to write shows.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Kernels.TokenReduction;
using IlgpuVit.Tests.Support;
using static IlgpuVit.Tests.Kernels.TokenReduction.TokenPlanFixtures;

namespace IlgpuVit.Tests.Reduction.Etps;

public class EtpsSqueezeTests
{
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

            // The chain of eTPS's planner and the applier: Top-K split, cosine host search on x, plan, normalised combine.
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

    [Fact]
    public void Bad_shapes_and_a_non_positive_tau_are_named()
    {
        var device = Backends.Cpu;
        using var kept = Tensor<int>.Zeros(device, 2, 3);
        using var dropped = Tensor<int>.Zeros(device, 2, 4);
        using var wrongDropped = Tensor<int>.Zeros(device, 2, 3);
        using var destination = Tensor<int>.Zeros(device, 2, 7);
        using var weight = device.Zeros(2, 7);
        using var best = device.Zeros(2, 4);
        using var allKept = Tensor<int>.Zeros(device, 2, 7);

        var nothingDropped = () => EtpsSqueeze.EtpsPlan(allKept, dropped, dropped, best, 1f, destination, weight);
        nothingDropped.Should().Throw<ShapeMismatchException>().WithMessage("EtpsPlan: kept has shape (2, 7) and destination (2, 7)*K + 1 < T*");
        var badHosts = () => EtpsSqueeze.EtpsPlan(kept, dropped, wrongDropped, best, 1f, destination, weight);
        badHosts.Should().Throw<ShapeMismatchException>().WithMessage("EtpsPlan: hosts has shape (2, 3), expected (2, 4).");
        foreach (float tau in new[] { 0f, -1f, float.NaN })
        {
            var badTau = () => EtpsSqueeze.EtpsPlan(kept, dropped, dropped, best, tau, destination, weight);
            badTau.Should().Throw<ArgumentOutOfRangeException>().WithMessage("EtpsPlan: tau must be positive.*").Which.ParamName.Should().Be("tau");
        }
    }
}
