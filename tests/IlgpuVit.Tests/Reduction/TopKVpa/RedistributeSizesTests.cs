// SizeRedistribution.RedistributeSizes (src/IlgpuVit/Reduction/TopKVpa/SizeRedistribution.cs): VPA's size
// bookkeeping. The kept tokens keep their own sizes and receive the dropped tokens' sizes, all to the
// host (host mode), in proportion to their scores (attention) or evenly (uniform); CLS never receives;
// Σ size is conserved.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Kernels.TokenReduction;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Reduction.TopKVpa;

public class RedistributeSizesTests
{
    // (B, T, K): K kept beside CLS, T − 1 − K dropped.
    private static readonly (int B, int T, int K)[] Splits = [(1, 3, 1), (2, 7, 3), (3, 31, 15), (2, 33, 1), (2, 197, 98), (1, 32, 30)];

    private static double[] Reference(float[] sizes, int[] kept, int[] dropped, float[] scores, int[] hosts, SizeMode mode, int batch, int tokens)
    {
        int k1 = kept.Length / batch, d = tokens - k1;
        var result = new double[batch * k1];
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < k1; i++) result[b * k1 + i] = sizes[b * tokens + kept[b * k1 + i]];
            double moved = Enumerable.Range(0, d).Sum(j => (double)sizes[b * tokens + dropped[b * d + j]]);
            double keptScore = Enumerable.Range(1, k1 - 1).Sum(i => (double)scores[b * (tokens - 1) + kept[b * k1 + i] - 1]);
            for (int j = 0; j < d && mode == SizeMode.Host; j++) result[b * k1 + hosts[b * d + j]] += sizes[b * tokens + dropped[b * d + j]];
            for (int i = 1; i < k1 && mode != SizeMode.Host; i++)
                result[b * k1 + i] += mode == SizeMode.Uniform || keptScore <= 0
                    ? moved / (k1 - 1)
                    : moved * scores[b * (tokens - 1) + kept[b * k1 + i] - 1] / keptScore;
        }
        return result;
    }

    private static void Run(Device device, (int B, int T, int K) split, SizeMode mode, float[] scores, string what)
    {
        var (batch, tokens, keep) = split;
        int k1 = keep + 1, d = tokens - k1;
        var (kept, dropped) = TokenPlanFixtures.Split(tokens + keep, batch, tokens, keep);
        var sizes = TokenPlanFixtures.Positive(tokens * 7, batch * tokens, 1f, 4f);
        var random = new Random(tokens - keep);
        var hosts = Enumerable.Range(0, batch * d).Select(_ => 1 + random.Next(keep)).ToArray();
        using var ts = device.FromArray(sizes, batch, tokens);
        using var tk = Tensor<int>.FromArray(device, kept, batch, k1);
        using var td = Tensor<int>.FromArray(device, dropped, batch, d);
        using var tscores = device.FromArray(scores, batch, tokens - 1);
        using var th = Tensor<int>.FromArray(device, hosts, batch, d);
        using var result = device.FromArray(TestData.Uniform(4, batch * k1, 9f), batch, k1);
        SizeRedistribution.RedistributeSizes(ts, tk, td, tscores, mode == SizeMode.Host ? th : null, mode, result);
        var got = result.ToArray();
        string where = $"{mode} {what} ({batch}, {tokens}, {keep})";
        Check.Close(got, Reference(sizes, kept, dropped, scores, hosts, mode, batch, tokens), 1e-5, 1e-6, "new sizes " + where);
        for (int b = 0; b < batch; b++)
        {
            got[b * k1].Should().Be(sizes[b * tokens], "CLS keeps its own size " + where);
            got.AsSpan(b * k1, k1).ToArray().Sum(v => (double)v).Should().BeApproximately(sizes.AsSpan(b * tokens, tokens).ToArray().Sum(v => (double)v),
                1e-5 * tokens * 4, "Σ size is conserved " + where);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Dropped_sizes_move_to_hosts_by_score_or_evenly_and_the_total_is_kept(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var split in Splits)
        {
            var scores = TokenPlanFixtures.Positive(split.T, split.B * (split.T - 1), 0f, 1f);
            foreach (var mode in Enum.GetValues<SizeMode>()) Run(device, split, mode, scores, "random scores");
            // Kept tokens that all score 0 cannot share by score: attention mode spreads evenly instead.
            Run(device, split, SizeMode.Attention, new float[split.B * (split.T - 1)], "zero scores");
        }
    }

    [Fact]
    public void Host_mode_without_hosts_and_bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var sizes = device.Zeros(2, 7);
        using var kept = Tensor<int>.Zeros(device, 2, 3);
        using var onlyCls = Tensor<int>.Zeros(device, 2, 1);
        using var dropped = Tensor<int>.Zeros(device, 2, 4);
        using var scores = device.Zeros(2, 6);
        using var wrongHosts = Tensor<int>.Zeros(device, 2, 5);
        using var result = device.Zeros(2, 3);
        var noHosts = () => SizeRedistribution.RedistributeSizes(sizes, kept, dropped, scores, null, SizeMode.Host, result);
        noHosts.Should().Throw<ArgumentNullException>().WithMessage("*host mode needs the hosts*");
        var badHosts = () => SizeRedistribution.RedistributeSizes(sizes, kept, dropped, scores, wrongHosts, SizeMode.Host, result);
        badHosts.Should().Throw<ShapeMismatchException>().WithMessage("RedistributeSizes: hosts has shape (2, 5), expected (2, 4).");
        var noneKept = () => SizeRedistribution.RedistributeSizes(sizes, onlyCls, dropped, scores, null, SizeMode.Uniform, result);
        noneKept.Should().Throw<ShapeMismatchException>().WithMessage("RedistributeSizes: *1 ≤ K < T − 1*");
    }
}
