// Ops.AttentionForward / AttentionBackward: the forward's P and O against float64, the backward
// against float64 finite differences, the CPU fused kernels against the composed GEMM path (run
// on the GPU simulator, which takes the GPU branch) and against their portable twins, the
// accumulate flag, and shape errors. Shapes cover T 1, 7, 33, 50, 197 and 1025, d 1 to 128, H 1 to 6.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class AttentionTests
{
    /// <summary>(B, T, C, H): T 1, 7, 33, 50, 197, 1025 and d = C / H of 1, 3, 7, 16, 24, 64, 128.</summary>
    public static TheoryData<int, int, int, int> Shapes() => new()
    {
        { 2, 1, 7, 1 }, { 3, 7, 3, 3 }, { 1, 17, 42, 6 }, { 2, 33, 48, 2 }, { 2, 50, 64, 4 },
        { 1, 197, 128, 2 }, { 1, 7, 320, 5 }, { 2, 9, 256, 2 }, { 1, 1025, 3, 1 },
    };

    private static float Scale(int c, int heads) => 1f / MathF.Sqrt(c / heads);

    /// <summary>P (B, H, T, T) = softmax(s q kᵀ + bias) in float64.</summary>
    private static double[] ReferenceProbabilities(float[] qkv, int batch, int tokens, int channels, int heads, float[]? bias)
    {
        int d = channels / heads, stride = 3 * channels;
        double scale = 1 / Math.Sqrt(d);
        var p = new double[batch * heads * tokens * tokens];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < tokens; i++)
                {
                    var row = p.AsSpan(((b * heads + h) * tokens + i) * tokens, tokens);
                    for (int j = 0; j < tokens; j++)
                    {
                        double s = 0;
                        for (int e = 0; e < d; e++)
                            s += (double)qkv[(b * tokens + i) * stride + h * d + e] * qkv[(b * tokens + j) * stride + channels + h * d + e];
                        row[j] = s * scale + (bias?[b * tokens + j] ?? 0);
                    }
                    double max = double.NegativeInfinity, sum = 0;
                    foreach (var v in row) max = Math.Max(max, v);
                    for (int j = 0; j < tokens; j++) sum += row[j] = Math.Exp(row[j] - max);
                    for (int j = 0; j < tokens; j++) row[j] /= sum;
                }
        return p;
    }

    /// <summary>The forward on <paramref name="device"/>; without <paramref name="keepP"/> no probabilities are asked for (P is empty).</summary>
    private static (float[] P, float[] O) Forward(Device device, float[] qkv, int batch, int tokens, int channels, int heads, float[]? bias,
        bool keepP = true)
    {
        using var tq = device.FromArray(qkv, batch, tokens, 3 * channels);
        using var tb = bias is null ? null : device.FromArray(bias, batch, tokens);
        using var p = keepP ? device.Zeros(batch, heads, tokens, tokens) : null;
        using var o = device.Zeros(batch, tokens, channels);
        Ops.AttentionForward(tq, heads, Scale(channels, heads), tb, p, o);
        return (p?.ToArray() ?? [], o.ToArray());
    }

    /// <summary>The forward on <paramref name="device"/>, then dQkv from dO, written over (or added to) <paramref name="initial"/>.</summary>
    private static float[] Backward(Device device, float[] qkv, float[] dOutput, int batch, int tokens, int channels, int heads,
        float[]? bias = null, float[]? initial = null)
    {
        using var tq = device.FromArray(qkv, batch, tokens, 3 * channels);
        using var tb = bias is null ? null : device.FromArray(bias, batch, tokens);
        using var p = device.Zeros(batch, heads, tokens, tokens);
        using var o = device.Zeros(batch, tokens, channels);
        using var dO = device.FromArray(dOutput, batch, tokens, channels);
        using var dQkv = initial is null ? device.FromArray(TestData.Uniform(5, qkv.Length, 100f), batch, tokens, 3 * channels)
            : device.FromArray(initial, batch, tokens, 3 * channels);
        float scale = Scale(channels, heads);
        Ops.AttentionForward(tq, heads, scale, tb, p, o);
        Ops.AttentionBackward(tq, p, dO, dQkv, heads, scale, accumulate: initial is not null);
        return dQkv.ToArray();
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Forward_matches_float64_reference_with_and_without_key_bias(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var row in Shapes())
        {
            var (batch, tokens, channels, heads) = ((int)row[0], (int)row[1], (int)row[2], (int)row[3]);
            var qkv = TestData.Uniform(tokens + channels, batch * tokens * 3 * channels, 2f);
            var bias = TestData.Uniform(tokens, batch * tokens, 1.5f);
            foreach (var b in new[] { null, bias })
            {
                var (p, o) = Forward(device, qkv, batch, tokens, channels, heads, b);
                string what = $"({batch}, {tokens}, {channels}, {heads}){(b is null ? "" : " with bias")}";
                Check.Close(p, ReferenceProbabilities(qkv, batch, tokens, channels, heads, b), 1e-4, 1e-6, $"P {what}");
                Check.Close(o, Reference.Attention(qkv.ToDouble(), batch, tokens, channels, heads, b?.ToDouble()), 1e-4, 1e-5, $"O {what}");
            }
        }
    }

    /// <summary>
    /// Without probabilities: the fused kernel on the simulator and GPUs (one query tile of 32 rows there, so T 31, 33
    /// and 385 end tiles part-way; key tiles of 32 likewise), the CPU kernel without writing P. d 64 and 24, and 160,
    /// past the fused kernel's limit, which composes through a temporary P.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Backends.AllAndSimulator), MemberType = typeof(Backends))]
    public void Forward_without_probabilities_matches_float64_reference(string backend)
    {
        var device = Backends.Get(backend);
        var shapes = new[] { (2, 1, 128, 2), (2, 7, 48, 2), (1, 31, 64, 1), (2, 33, 72, 3), (1, 197, 128, 2), (1, 385, 24, 1), (1, 9, 160, 1) };
        foreach (var (batch, tokens, channels, heads) in shapes)
        {
            var qkv = TestData.Uniform(tokens + channels + 1, batch * tokens * 3 * channels, 2f);
            var bias = TestData.Uniform(tokens + 2, batch * tokens, 1.5f);
            foreach (var b in new[] { null, bias })
            {
                var (_, o) = Forward(device, qkv, batch, tokens, channels, heads, b, keepP: false);
                string what = $"({batch}, {tokens}, {channels}, {heads}){(b is null ? "" : " with bias")}";
                Check.Close(o, Reference.Attention(qkv.ToDouble(), batch, tokens, channels, heads, b?.ToDouble()), 1e-4, 1e-5, $"O {what}");
            }
        }
    }

    /// <summary>
    /// The CLS query's attention (B, H, 1, T) is row 0 of every head's P, with or without P itself (on GPUs and the simulator
    /// a copy out of the composed path's P, temporary when P is not asked for), T round and odd.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Backends.AllAndSimulator), MemberType = typeof(Backends))]
    public void Cls_attention_is_row_zero_of_the_probabilities(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, tokens, channels, heads) in new[] { (2, 2, 8, 2), (3, 17, 48, 3), (2, 50, 64, 4), (1, 197, 64, 1) })
        {
            var qkv = TestData.Uniform(tokens + 3, batch * tokens * 3 * channels, 2f);
            var bias = TestData.Uniform(tokens + 4, batch * tokens, 1.5f);
            var reference = ReferenceProbabilities(qkv, batch, tokens, channels, heads, bias);
            var expected = Enumerable.Range(0, batch * heads).SelectMany(z => reference.Skip(z * tokens * tokens).Take(tokens)).ToArray();
            foreach (bool keepP in new[] { false, true })
            {
                using var tq = device.FromArray(qkv, batch, tokens, 3 * channels);
                using var tb = device.FromArray(bias, batch, tokens);
                using var p = keepP ? device.Zeros(batch, heads, tokens, tokens) : null;
                using var o = device.Zeros(batch, tokens, channels);
                using var cls = device.FromArray(TestData.Uniform(9, batch * heads * tokens, 50f), batch, heads, 1, tokens);
                Ops.AttentionForward(tq, heads, Scale(channels, heads), tb, p, o, cls);
                string what = $"({batch}, {tokens}, {channels}, {heads}){(keepP ? " beside P" : "")}";
                Check.Close(cls.ToArray(), expected, 1e-4, 1e-6, $"CLS attention {what}");
                Check.Close(o.ToArray(), Reference.Attention(qkv.ToDouble(), batch, tokens, channels, heads, bias.ToDouble()), 1e-4, 1e-5, $"O {what}");
            }
        }
    }

    /// <summary>
    /// The head-mean keys the forward writes on request are bit for bit Ops.HeadMeanKeys' normalised ones: on the CPU inside
    /// the launch (batches of at least a worker per image, tasks then holding whole images, T and d round and odd, d past 16
    /// lanes) or after it (batch 1), elsewhere after the attention; the output is unchanged by the request.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Backends.AllAndSimulator), MemberType = typeof(Backends))]
    public void Head_mean_keys_are_those_of_HeadMeanKeys(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, tokens, channels, heads) in new[] { (1, 50, 64, 4), (3, 17, 48, 3), (64, 50, 64, 4), (5, 7, 96, 2), (2, 33, 42, 6) })
        {
            var qkv = TestData.Uniform(tokens + 5, batch * tokens * 3 * channels, 2f);
            using var tq = device.FromArray(qkv, batch, tokens, 3 * channels);
            using var o = device.Zeros(batch, tokens, channels);
            using var keys = device.FromArray(TestData.Uniform(6, batch * tokens * (channels / heads), 50f), batch, tokens, channels / heads);
            using var expected = device.Zeros(batch, tokens, channels / heads);
            Ops.AttentionForward(tq, heads, Scale(channels, heads), null, null, o, headMeanKeys: keys);
            Ops.HeadMeanKeys(tq, heads, expected, normalize: true);
            string what = $"({batch}, {tokens}, {channels}, {heads})";
            keys.ToArray().Should().Equal(expected.ToArray(), $"the keys of {what}");
            Check.Close(o.ToArray(), Reference.Attention(qkv.ToDouble(), batch, tokens, channels, heads, null), 1e-4, 1e-5, $"O {what}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Backward_matches_finite_differences_of_the_float64_forward(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, tokens, channels, heads, withBias) in new[] { (1, 1, 3, 1, false), (1, 7, 6, 2, true), (2, 5, 12, 3, false), (1, 33, 8, 2, true), (1, 17, 17, 1, false) })
        {
            var qkv = TestData.Uniform(tokens * channels, batch * tokens * 3 * channels, 1.5f);
            var dO = TestData.Uniform(heads + 1, batch * tokens * channels);
            var bias = withBias ? TestData.Uniform(3, batch * tokens) : null;
            var dQkv = Backward(device, qkv, dO, batch, tokens, channels, heads, bias);
            var w = dO.ToDouble();
            var expected = FiniteDifference.Gradient(
                x => FiniteDifference.Dot(w, Reference.Attention(x, batch, tokens, channels, heads, bias?.ToDouble())), qkv.ToDouble());
            Check.Close(dQkv, expected, 1e-3, 1e-5, $"dQkv ({batch}, {tokens}, {channels}, {heads}){(withBias ? " with bias" : "")}");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Cpu_fused_kernels_match_the_composed_gemm_path(int batch, int tokens, int channels, int heads)
    {
        if (tokens > 200) return;   // the simulator's GEMM path is slow at T 1025; the float64 forward test covers it
        var qkv = TestData.Uniform(batch + tokens, batch * tokens * 3 * channels, 2f);
        var bias = TestData.Uniform(7, batch * tokens);
        var dO = TestData.Uniform(channels, batch * tokens * channels);
        var (fusedP, fusedO) = Forward(Backends.Cpu, qkv, batch, tokens, channels, heads, bias);
        var (gemmP, gemmO) = Forward(Backends.GpuSimulator, qkv, batch, tokens, channels, heads, bias);
        string what = $"({batch}, {tokens}, {channels}, {heads})";
        Check.Close(fusedP, gemmP.ToDouble(), 1e-4, 1e-6, $"P {what}");
        Check.Close(fusedO, gemmO.ToDouble(), 1e-4, 1e-5, $"O {what}");
        var fused = Backward(Backends.Cpu, qkv, dO, batch, tokens, channels, heads, bias);
        var gemm = Backward(Backends.GpuSimulator, qkv, dO, batch, tokens, channels, heads, bias);
        Check.Close(fused, gemm.ToDouble(), 1e-3, 1e-5, $"dQkv {what}");
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Accumulate_adds_to_the_gradient_and_otherwise_overwrites_it(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, tokens, channels, heads) in new[] { (2, 7, 21, 3), (3, 50, 64, 4), (1, 33, 64, 1) })
        {
            var qkv = TestData.Uniform(1, batch * tokens * 3 * channels, 2f);
            var dO = TestData.Uniform(2, batch * tokens * channels);
            var initial = TestData.Uniform(3, qkv.Length, 10f);
            var overwritten = Backward(device, qkv, dO, batch, tokens, channels, heads);   // over a buffer of ±100 garbage
            var added = Backward(device, qkv, dO, batch, tokens, channels, heads, initial: initial);
            overwritten.Should().Contain(v => Math.Abs(v) > 1e-3f, "the gradient must not vanish, or this test checks nothing");
            Check.Close(added, overwritten.Select((v, i) => (double)v + initial[i]).ToArray(), 1e-5, 1e-5, $"accumulated ({batch}, {tokens}, {channels}, {heads})");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Cpu_fast_helpers_agree_with_their_portable_twins(int batch, int tokens, int channels, int heads)
    {
        var device = Backends.Cpu;
        var qkv = TestData.Uniform(11, batch * tokens * 3 * channels, 2f);
        using var tq = device.FromArray(qkv, batch, tokens, 3 * channels);
        using var bias = device.FromArray(TestData.Uniform(12, batch * tokens), batch, tokens);
        using var dO = device.FromArray(TestData.Uniform(13, batch * tokens * channels), batch, tokens, channels);
        using var p = device.Zeros(batch, heads, tokens, tokens);
        using var twinP = device.Zeros(batch, heads, tokens, tokens);
        using var o = device.Zeros(batch, tokens, channels);
        using var twinO = device.Zeros(batch, tokens, channels);
        using var cls = device.Zeros(batch, heads, 1, tokens);
        using var twinCls = device.Zeros(batch, heads, 1, tokens);
        using var keys = device.Zeros(batch, tokens, channels / heads);
        using var twinKeys = device.Zeros(batch, tokens, channels / heads);
        using var dQkv = device.FromArray(TestData.Uniform(14, qkv.Length), batch, tokens, 3 * channels);
        using var twinDQkv = device.FromArray(TestData.Uniform(14, qkv.Length), batch, tokens, 3 * channels);
        var g = AttentionArgs.Check("test", tq, heads, Scale(channels, heads), p);
        g.HasBias = 1;
        g.Accumulate = 1;
        g.WritesClsAttention = 1;
        g.WritesHeadMeanKeys = 1;
        int pairs = batch * heads;
        using var scratch = device.Zeros(Math.Max(g.ForwardScratch, g.BackwardScratch));

        Ops.AttentionHeads(tq.View, bias.View, p.View, o.View, cls.View, keys.View, scratch.View, g, 0, pairs, 0);
        Ops.AttentionHeadsPortable(tq.View, bias.View, twinP.View, twinO.View, twinCls.View, twinKeys.View, scratch.View, g, 0, pairs, 0);
        string what = $"({batch}, {tokens}, {channels}, {heads})";
        Check.Close(p.ToArray(), twinP.ToArray().ToDouble(), 1e-5, 1e-7, $"P {what}");
        Check.Close(o.ToArray(), twinO.ToArray().ToDouble(), 1e-4, 1e-6, $"O {what}");
        Check.Close(cls.ToArray(), twinCls.ToArray().ToDouble(), 1e-5, 1e-7, $"CLS attention {what}");
        Check.Close(keys.ToArray(), twinKeys.ToArray().ToDouble(), 1e-6, 1e-7, $"head-mean keys {what}");

        Ops.AttentionHeadsBackward(tq.View, p.View, dO.View, dQkv.View, scratch.View, g, 0, pairs, 0);
        Ops.AttentionHeadsBackwardPortable(tq.View, p.View, dO.View, twinDQkv.View, scratch.View, g, 0, pairs, 0);
        Check.Close(dQkv.ToArray(), twinDQkv.ToArray().ToDouble(), 1e-4, 1e-5, $"dQkv {what}");
    }

    [Fact]
    public void Rejects_shapes_that_do_not_fit_qkv()
    {
        var device = Backends.Cpu;
        using var qkv = device.Zeros(2, 5, 12);       // C 4
        using var p = device.Zeros(2, 2, 5, 5);
        using var o = device.Zeros(2, 5, 4);
        using var flat = device.Zeros(10, 12);
        using var odd = device.Zeros(2, 5, 10);
        using var wrongP = device.Zeros(2, 2, 5, 4);
        using var wrongO = device.Zeros(2, 4, 4);
        using var wrongBias = device.Zeros(2, 4);
        using var wrongDQkv = device.Zeros(2, 5, 9);
        void Forward(Tensor<float> x, int heads, Tensor<float>? bias, Tensor<float> probabilities, Tensor<float> output) =>
            Ops.AttentionForward(x, heads, 0.5f, bias, probabilities, output);

        ((Action)(() => Forward(flat, 2, null, p, o))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionForward: qkv has shape (10, 12); it needs (B, T, 3C) with C a multiple of 2 heads.");
        ((Action)(() => Forward(qkv, 3, null, p, o))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionForward: qkv has shape (2, 5, 12); it needs (B, T, 3C) with C a multiple of 3 heads.");
        ((Action)(() => Forward(odd, 1, null, p, o))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionForward: qkv has shape (2, 5, 10)*");
        ((Action)(() => Forward(qkv, 2, null, wrongP, o))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionForward: probabilities has shape (2, 2, 5, 4), expected (2, 2, 5, 5).");
        ((Action)(() => Forward(qkv, 2, null, p, wrongO))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionForward: output has shape (2, 4, 4), expected (2, 5, 4).");
        ((Action)(() => Ops.AttentionForward(qkv, 2, 0.5f, null, null, o, wrongP))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionForward: CLS attention has shape (2, 2, 5, 4), expected (2, 2, 1, 5).");
        ((Action)(() => Ops.AttentionForward(qkv, 2, 0.5f, null, null, o, headMeanKeys: wrongO))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionForward: head-mean keys has shape (2, 4, 4), expected (2, 5, 2).");
        ((Action)(() => Forward(qkv, 2, wrongBias, p, o))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionForward: key bias has shape (2, 4), expected (2, 5).");
        ((Action)(() => Ops.AttentionBackward(qkv, p, wrongO, qkv, 2, 0.5f, false))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionBackward: dOutput has shape (2, 4, 4), expected (2, 5, 4).");
        ((Action)(() => Ops.AttentionBackward(qkv, p, o, wrongDQkv, 2, 0.5f, false))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionBackward: dQkv has shape (2, 5, 9), expected (2, 5, 12).");
        ((Action)(() => Ops.AttentionBackward(qkv, wrongP, o, qkv, 2, 0.5f, false))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AttentionBackward: probabilities has shape (2, 2, 5, 4), expected (2, 2, 5, 5).");
    }
}
