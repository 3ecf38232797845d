// Top-K + VPA invariants (docs/methods.md): the sizes of every image sum to the initial token count after
// every layer and in every mode; λ = 0 is exactly Top-K; rate 0 is exactly the unpruned model; the
// host mode moves each dropped size to the kept token with the most similar head-averaged key.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Reduction.TopKVpa;

public class TopKVpaPlannerTests
{
    private static readonly VitConfig Config = new("vpa-test", 16, 4, 3, 16, 3, 2, 32, 5);   // 16 patches + CLS

    /// <summary>Logits of 3 images under <paramref name="spec"/>; <paramref name="inspect"/> sees the token state before the tape frees it.</summary>
    private static float[] Logits(VisionTransformer model, string spec, Action<TokenState>? inspect = null)
    {
        ReductionMethod.Apply(model, spec);
        using var images = Backends.Cpu.FromArray(TestData.Uniform(2, 3 * 3 * 16 * 16), 3, 3, 16, 16);
        using var tape = Tape.NoGrad();
        var state = new TokenState();
        var logits = model.Forward(tape, images, state).Value.ToArray();
        inspect?.Invoke(state);
        return logits;
    }

    [Theory]
    [InlineData("host")]
    [InlineData("attention")]
    [InlineData("uniform")]
    public void Sizes_always_sum_to_the_initial_tokens(string mode)
    {
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 1);
        TokenState state = null!;
        float[] sizes = [];
        Logits(model, $"topk-vpa:rate=0.3,mode={mode}", s => (state, sizes) = (s, s.Sizes!.ToArray()));
        state.TokensAfterLayer.Should().Equal(12, 8, 5);    // 17 - ceil(0.3 * 16), - ceil(0.3 * 11), - ceil(0.3 * 7)
        for (int b = 0; b < 3; b++) sizes.AsSpan(b * 5, 5).ToArray().Sum().Should().BeApproximately(17f, 1e-4f);
        sizes.Where((_, i) => i % 5 == 0).Should().OnlyContain(s => s == 1f, "CLS keeps its own size");
    }

    [Fact]
    public void Lambda_zero_is_top_k_and_rate_zero_is_the_unpruned_model()
    {
        using var model = new VisionTransformer(Config, Backends.Cpu, seed: 1);
        Logits(model, "topk-vpa:rate=0.3,lambda=0").Should().Equal(Logits(model, "topk:rate=0.3"));
        Logits(model, "topk-vpa:rate=0,lambda=1").Should().Equal(Logits(model, "none"));
        Logits(model, "topk-vpa:rate=0.3,lambda=1").Should().NotEqual(Logits(model, "topk:rate=0.3"), "sizes change attention");
    }

    [Fact]
    public void Host_mode_moves_each_dropped_size_to_the_most_similar_kept_key()
    {
        var device = Backends.Cpu;
        int b = 2, t = 7, heads = 2, c = 8, d = c / heads;
        var qkv = TestData.Uniform(5, b * t * 3 * c);
        var sizes = TestData.Uniform(6, b * t).Select(v => 1.5f + v).ToArray();
        int[] kept = [0, 2, 5, /* image 2 */ 0, 1, 6];
        int[] dropped = [1, 3, 4, 6, /* image 2 */ 2, 3, 4, 5];
        using var tq = device.FromArray(qkv, b, t, 3 * c);
        using var ts = device.FromArray(sizes, b, t);
        using var tk = Tensor<int>.FromArray(device, kept, b, 3);
        using var td = Tensor<int>.FromArray(device, dropped, b, 4);
        using var scores = device.Zeros(b, t - 1);
        using var keys = device.Zeros(b, t, d);
        using var guests = device.Zeros(b, 4, d);
        using var hostKeys = device.Zeros(b, 3, d);
        using var hosts = Tensor<int>.Zeros(device, b, 4);
        using var best = device.Zeros(b, 4);
        using var result = device.Zeros(b, 3);
        // The host search as TopKVpaPlanner composes it: normalised head-mean keys, the best kept row 1..K by cosine.
        Ops.HeadMeanKeys(tq, heads, keys, normalize: true);
        Ops.GatherRows(keys, td, guests);
        Ops.GatherRows(keys, tk, hostKeys);
        Ops.BestMatch(guests, hostKeys, firstRow: 0, firstColumn: 1, hosts, best);
        SizeRedistribution.RedistributeSizes(ts, tk, td, scores, hosts, SizeMode.Host, result);
        var expected = new double[b * 3];
        for (int i = 0; i < b; i++)
        {
            double[] Key(int j) => Enumerable.Range(0, d).Select(e => Enumerable.Range(0, heads).Sum(h => (double)qkv[(i * t + j) * 3 * c + c + h * d + e])).ToArray();
            double Cos(double[] u, double[] v) => u.Zip(v).Sum(p => p.First * p.Second) / (Math.Sqrt(u.Sum(x => x * x)) * Math.Sqrt(v.Sum(x => x * x)));
            var keptRow = kept.Skip(i * 3).Take(3).ToArray();
            for (int k = 0; k < 3; k++) expected[i * 3 + k] = sizes[i * t + keptRow[k]];
            for (int j = 1; j < t; j++)
            {
                if (keptRow.Contains(j)) continue;
                int host = Enumerable.Range(1, 2).OrderByDescending(k => Cos(Key(j), Key(keptRow[k]))).ThenBy(k => k).First();
                expected[i * 3 + host] += sizes[i * t + j];
            }
        }
        Check.Close(result.ToArray(), expected, 1e-6, 1e-6, "new sizes");
    }

    [Theory]
    [InlineData("topk-vpa:rate=0.1,mode=sideways", "*Bad reduction method*")]
    [InlineData("topk:rate=0.1,lambda=1", "*topk takes no option lambda*")]
    public void Bad_options_are_named(string spec, string message)
    {
        var act = () => ReductionSpec.Parse(spec);
        act.Should().Throw<FormatException>().WithMessage(message);
    }

    [Fact]
    public void Lambda_ramps_linearly_from_the_first_to_the_last_layer()
    {
        var lambda = ((TopKVpaPlanner)ReductionSpec.Parse("topk-vpa:rate=0.1,lambda=0.5..1")!.Planner).Lambda;
        lambda.At(0, depth: 11).Should().Be(0.5f);
        lambda.At(5, depth: 11).Should().BeApproximately(0.75f, 1e-6f);
        lambda.At(10, depth: 11).Should().Be(1f);
    }
}
