// The kernels the device check runs on two devices with the same inputs: each case builds its inputs
// from a seed on the device it is given, runs one launcher (or a forward and its backward) and
// returns the outputs. Shapes are odd on purpose (7, 33, 197, 385, a 4100-long row) beside round
// ones. The reduction planners' kernels are reached through the model cases (DeviceCheck), where
// they see real attention; Ops.TraceLaunches shows that the two together run every launcher.
// Tolerances are relative to each output's largest magnitude (docs/device-check.md).

using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Experiments.Devices;

/// <summary>One kernel run: a name, the shape in words, the tolerance, and the run itself.</summary>
/// <param name="Name">What runs, e.g. "Softmax (key bias)".</param>
/// <param name="Shape">The shapes, in words.</param>
/// <param name="Tolerance">Largest accepted |device − cpu| over the output's largest magnitude; 0 means equal.</param>
/// <param name="Run">Builds the inputs on the device, runs, and returns the outputs to compare.</param>
public sealed record KernelCase(string Name, string Shape, double Tolerance, Func<CaseInputs, ITensor[]> Run);

/// <summary>Deterministic inputs on one device, owned (and disposed) by the case run.</summary>
public sealed class CaseInputs(Device device) : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    /// <summary>Where the case runs.</summary>
    public Device Device { get; } = device;

    /// <summary>Uniform values in [-scale, scale) from <paramref name="seed"/>.</summary>
    public Tensor<float> Uniform(int seed, float scale, params int[] dims)
    {
        var random = new Random(seed);
        var values = new float[new Shape(dims).Length];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return Own(Tensor<float>.FromArray(Device, values, dims));
    }

    /// <summary>Values in [0, max) from <paramref name="seed"/>.</summary>
    public Tensor<int> Ints(int seed, int max, params int[] dims)
    {
        var random = new Random(seed);
        var values = new int[new Shape(dims).Length];
        for (int i = 0; i < values.Length; i++) values[i] = random.Next(max);
        return Own(Tensor<int>.FromArray(Device, values, dims));
    }

    /// <summary>A tensor of zeros.</summary>
    public Tensor<float> Zeros(params int[] dims) => Own(Tensor<float>.Zeros(Device, dims));

    /// <summary>An int tensor of zeros.</summary>
    public Tensor<int> IntZeros(params int[] dims) => Own(Tensor<int>.Zeros(Device, dims));

    private T Own<T>(T tensor) where T : IDisposable
    {
        _owned.Add(tensor);
        return tensor;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var tensor in _owned) tensor.Dispose();
    }
}

/// <summary>The kernel cases.</summary>
public static class KernelCases
{
    private const double Exact = 0, Elementwise = 1e-5, Rows = 1e-4, Products = 1e-4;

    /// <summary>Every case; <paramref name="quick"/> keeps the small shapes only (CI, the CPU).</summary>
    public static IReadOnlyList<KernelCase> All(bool quick)
    {
        int long_ = quick ? 385 : 4100, tokens = quick ? 33 : 197;
        var cases = new List<KernelCase>();
        foreach (var (m, n, k) in quick ? new[] { (7, 33, 31), (64, 64, 64) } : [(7, 33, 31), (197, 385, 64), (256, 256, 256), (394, 1152, 384)])
        {
            cases.Add(new($"Gemm", $"{m}x{k} · {k}x{n}", Products, c => Product(c, m, n, k, new GemmOptions())));
            cases.Add(new($"Gemm (Bᵀ, bias, GELU)", $"{m}x{k} · ({n}x{k})ᵀ", Products, c => Product(c, m, n, k,
                new GemmOptions { TransposeB = true, Bias = c.Uniform(4, 1, n), Gelu = true })));
            cases.Add(new($"Gemm (Aᵀ, residual, α)", $"({k}x{m})ᵀ · {k}x{n}", Products, c => Product(c, m, n, k,
                new GemmOptions { TransposeA = true, Alpha = 0.5f, Residual = c.Uniform(5, 1, m, n) })));
        }
        cases.Add(new("Gemm (batched heads, strided)", $"2x3 heads of {tokens}x16", Products, c =>
        {
            int t = tokens, d = 16, ch = 3 * d;
            var qkv = c.Uniform(1, 1, 2, t, 3 * ch);
            var s = c.Zeros(2, 3, t, t);
            Ops.Gemm(2, 3, t, t, d, qkv, new MatrixLayout(0, 3 * ch, t * 3 * ch, d), qkv, new MatrixLayout(ch, 3 * ch, t * 3 * ch, d),
                s, new MatrixLayout(0, t, 3 * t * t, t * t), new GemmOptions { TransposeB = true, Alpha = 0.25f });
            return [s];
        }));
        foreach (bool bias in new[] { false, true })
            cases.Add(new($"AttentionForward + AttentionBackward{(bias ? " (key bias)" : "")}", $"2 images, {tokens} tokens, 4 heads of 16", Rows, c =>
            {
                int t = tokens, ch = 64;
                var qkv = c.Uniform(1, 1, 2, t, 3 * ch);
                var p = c.Zeros(2, 4, t, t);
                var y = c.Zeros(2, t, ch);
                var dqkv = c.Zeros(2, t, 3 * ch);
                Ops.AttentionForward(qkv, 4, 0.25f, bias ? c.Uniform(2, 1, 2, t) : null, p, y);
                Ops.AttentionBackward(qkv, p, c.Uniform(3, 1, 2, t, ch), dqkv, 4, 0.25f, accumulate: false);
                return [p, y, dqkv];
            }));
        foreach (int n in new[] { 7, tokens, long_ })
        {
            cases.Add(new("Softmax (key bias) + SoftmaxBackward", $"2x3x5 rows of {n}", Rows, c =>
            {
                var y = c.Zeros(2, 3, 5, n);
                var dx = c.Zeros(2, 3, 5, n);
                Ops.Softmax(c.Uniform(1, 4, 2, 3, 5, n), y, 0.5f, c.Uniform(2, 1, 2, n));
                Ops.SoftmaxBackward(y, c.Uniform(3, 1, 2, 3, 5, n), dx, 0.5f);
                return [y, dx];
            }));
            cases.Add(new("LayerNorm + LayerNormBackward", $"37 rows of {n}", Rows, c =>
            {
                var (x, gamma) = (c.Uniform(1, 3, 37, n), c.Uniform(2, 1, n));
                var (y, mean, rstd) = (c.Zeros(37, n), c.Zeros(37), c.Zeros(37));
                var (dx, dgamma, dbeta) = (c.Zeros(37, n), c.Zeros(n), c.Zeros(n));
                Ops.LayerNorm(x, gamma, c.Uniform(3, 1, n), y, 1e-6f, mean, rstd);
                Ops.LayerNormBackward(c.Uniform(4, 1, 37, n), x, gamma, mean, rstd, dx, dgamma, dbeta);
                return [y, mean, rstd, dx, dgamma, dbeta];
            }));
            cases.Add(new("CrossEntropy + CrossEntropyBackward + ArgMax", $"33 rows of {n} classes", Rows, c =>
            {
                var (logits, labels) = (c.Uniform(1, 5, 33, n), c.Ints(2, n, 33));
                var (loss, p, dlogits, index) = (c.Zeros(33), c.Zeros(33, n), c.Zeros(33, n), c.IntZeros(33));
                Ops.CrossEntropy(logits, labels, loss, 0.1f, p);
                Ops.CrossEntropyBackward(p, labels, dlogits, 0.1f, 1f / 33);
                Ops.ArgMax(logits, index);
                return [loss, p, dlogits, index];
            }));
            cases.Add(new("TopK", $"9 rows of {n}, k = {n / 2 + 1}", Exact, c =>
            {
                var (index, values) = (c.IntZeros(9, n / 2 + 1), c.Zeros(9, n / 2 + 1));
                Ops.TopK(c.Uniform(1, 1, 9, n), index, values);
                return [index, values];
            }));
        }
        cases.Add(new("Map (GELU, ReLU, Exp, Scale, Add, Subtract, Multiply) + MapBackward", $"3x{long_}", Elementwise, c =>
        {
            var (x, b) = (c.Uniform(1, 3, 3, long_), c.Uniform(2, 1, long_));
            var outputs = Enumerable.Range(0, 10).Select(_ => c.Zeros(3, long_)).ToArray();
            Ops.Gelu(x, outputs[0]);
            Ops.Relu(x, outputs[1]);
            Ops.Exp(x, outputs[2]);
            Ops.Scale(x, outputs[3], -1.5f);
            Ops.Add(x, b, outputs[4]);
            Ops.Subtract(x, b, outputs[5]);
            Ops.Multiply(x, b, outputs[6]);
            Ops.GeluBackward(x, outputs[6], outputs[7]);
            Ops.ReluBackward(x, outputs[6], outputs[8]);
            Ops.AddRowVector(x, b, outputs[9]);
            return outputs;
        }));
        cases.Add(new("Reduce (sum, mean, max) + SumRows + SumOfSquares", $"5x{tokens}x33", Rows, c =>
        {
            var x = c.Uniform(1, 1, 5, tokens, 33);
            var (sum, mean, max, rows, squares) = (c.Zeros(5, 33), c.Zeros(5, tokens), c.Zeros(tokens, 33), c.Zeros(33), c.Zeros(2));
            Ops.Sum(x, sum, axis: 1);
            Ops.Mean(x, mean, axis: 2);
            Ops.Max(x, max, axis: 0);
            Ops.SumRows(x, rows, accumulate: false);
            Ops.SumOfSquares(x, squares, 1);
            return [sum, mean, max, rows, squares];
        }));
        cases.Add(new("Patchify + PrependClassToken (+ backward) + TransposeLast2 + Copy", "2x3x32x32, patch 8", Exact, c =>
        {
            var patches = c.Zeros(2, 16, 192);
            var tokensOut = c.Zeros(2, 17, 192);
            var (dx, dcls, transposed, copy) = (c.Zeros(2, 16, 192), c.Zeros(192), c.Zeros(2, 192, 16), c.Zeros(2, 16, 192));
            Ops.Patchify(c.Uniform(1, 1, 2, 3, 32, 32), patches, 8);
            Ops.PrependClassToken(patches, c.Uniform(2, 1, 1, 1, 192), tokensOut);
            Ops.PrependClassTokenBackward(tokensOut, dx, dcls, accumulateDx: false);
            Ops.TransposeLast2(patches, transposed);
            Ops.Copy(patches, copy);
            return [patches, tokensOut, dx, dcls, transposed, copy];
        }));
        cases.Add(new("GatherRows + ScatterRows (accumulate)", $"3x{tokens}x33, 20 rows with repeats", Exact, c =>
        {
            var (x, index) = (c.Uniform(1, 1, 3, tokens, 33), c.Ints(2, tokens, 3, 20));
            var (y, back) = (c.Zeros(3, 20, 33), c.Zeros(3, tokens, 33));
            Ops.GatherRows(x, index, y);
            Ops.ScatterRows(y, index, back, accumulate: true);
            return [y, back];
        }));
        cases.Add(new("AdamWStep + SgdStep", $"{long_ * 3} parameters, 2 steps each", Elementwise, c =>
        {
            var (p, q, g) = (c.Uniform(1, 1, long_ * 3), c.Uniform(2, 1, long_ * 3), c.Uniform(3, 1, long_ * 3));
            var (m, v, velocity) = (c.Zeros(long_ * 3), c.Zeros(long_ * 3), c.Zeros(long_ * 3));
            for (int step = 1; step <= 2; step++)
            {
                Ops.AdamWStep(p, g, m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f, step);
                Ops.SgdStep(q, g, velocity, 0.1f, 0.9f, 1e-4f, nesterov: true, firstStep: step == 1);
            }
            return [p, m, v, q, velocity];
        }));
        cases.Add(new("Conv2d + Conv2dBackward + Im2Col + Col2Im", "2x5x15x15, 7x7 stride 2 same, 8 out", Products, c =>
        {
            var padding = Padding2d.Same(15, 15, 7, 7, 2);
            var (x, w, bias) = (c.Uniform(1, 1, 2, 5, 15, 15), c.Uniform(2, 0.2f, 8, 5, 7, 7), c.Uniform(3, 1, 8));
            var g = new Conv2dGeometry(2, 5, 15, 15, 7, 7, 2, padding);
            var (y, dx, dw, db) = (c.Zeros(2, 8, g.OutHeight, g.OutWidth), c.Zeros(2, 5, 15, 15), c.Zeros(8, 5, 7, 7), c.Zeros(8));
            var (columns, images) = (c.Zeros(2, g.PatchLength, g.OutPixels), c.Zeros(2, 5, 15, 15));
            Ops.Conv2d(x, w, bias, y, 2, padding);
            Ops.Conv2dBackward(c.Uniform(4, 1, 2, 8, g.OutHeight, g.OutWidth), x, w, 2, padding, dx, dw, db, accumulateParameters: false);
            Ops.Im2Col(x, columns, g);
            Ops.Col2Im(columns, images, g);
            return [y, dx, dw, db, columns, images];
        }));
        cases.Add(new("AddChannelBias + SumChannels + GroupNorm (+ backward) + MaxPool2d (+ backward)", "2x8x15x15, 4 groups, pool 3 stride 2", Rows, c =>
        {
            var (x, bias, gamma, beta) = (c.Uniform(1, 2, 2, 8, 15, 15), c.Uniform(2, 1, 8), c.Uniform(3, 1, 8), c.Uniform(4, 1, 8));
            var (biased, sums, y, mean, rstd) = (c.Zeros(2, 8, 15, 15), c.Zeros(8), c.Zeros(2, 8, 15, 15), c.Zeros(2, 4), c.Zeros(2, 4));
            var (dx, dgamma, dbeta) = (c.Zeros(2, 8, 15, 15), c.Zeros(8), c.Zeros(8));
            Ops.AddChannelBias(x, bias, biased);
            Ops.SumChannels(x, sums, accumulate: false);
            Ops.GroupNorm(x, gamma, beta, y, 4, 1e-5f, mean, rstd);
            Ops.GroupNormBackward(c.Uniform(5, 1, 2, 8, 15, 15), x, gamma, mean, rstd, dx, dgamma, dbeta, 4);
            var pool = new Conv2dGeometry(2, 8, 15, 15, 3, 3, 2, Padding2d.Same(15, 15, 3, 3, 2));
            var (pooled, argmax, dpool) = (c.Zeros(2, 8, pool.OutHeight, pool.OutWidth), c.IntZeros(2, 8, pool.OutHeight, pool.OutWidth), c.Zeros(2, 8, 15, 15));
            Ops.MaxPool2d(x, pooled, argmax, pool);
            Ops.MaxPool2dBackward(pooled, argmax, dpool, pool);
            return [biased, sums, y, mean, rstd, dx, dgamma, dbeta, pooled, argmax, dpool];
        }));
        cases.Add(new("BestMatch + CosineSimilarity + NormalizeRows + HeadMeanKeys + SplitAlternate", $"2 images, {tokens} tokens, 4 heads of 16", Rows, c =>
        {
            var qkv = c.Uniform(1, 1, 2, tokens, 192);
            var keys = c.Zeros(2, tokens, 16);
            var (even, odd) = (c.Zeros(2, (tokens + 1) / 2, 16), c.Zeros(2, tokens / 2, 16));
            var (cosine, index, score) = (c.Zeros(2, (tokens + 1) / 2, tokens / 2), c.IntZeros(2, (tokens + 1) / 2), c.Zeros(2, (tokens + 1) / 2));
            Ops.HeadMeanKeys(qkv, 4, keys);
            Ops.SplitAlternate(keys, even, odd);
            Ops.CosineSimilarity(even, odd, cosine);
            Ops.NormalizeRows(even, even);
            Ops.NormalizeRows(odd, odd);
            Ops.BestMatch(even, odd, 1, 0, index, score);
            return [keys, even, odd, cosine, index, score];
        }));
        cases.Add(new("ClsAttentionScore + KeptTokenIndex + SelectTokens", $"2 images, 4 heads, {tokens} tokens, keep {tokens / 2}", Rows, c =>
        {
            int t = tokens, k = tokens / 2;
            var p = c.Zeros(2, 4, t, t);
            Ops.Softmax(c.Uniform(1, 4, 2, 4, t, t), p);
            var (scores, selected, mask, kept, dropped) = (c.Zeros(2, t - 1), c.IntZeros(2, k), c.IntZeros(2, t), c.IntZeros(2, k + 1), c.IntZeros(2, t - 1 - k));
            Ops.ClsAttentionScore(p, scores);
            Ops.TopK(scores, selected);
            Ops.KeptTokenIndex(selected, mask, kept, dropped);
            var (scores2, selected2, kept2, dropped2) = (c.Zeros(2, t - 1), c.IntZeros(2, k), c.IntZeros(2, k + 1), c.IntZeros(2, t - 1 - k));
            Ops.SelectTokens(p, scores2, selected2, mask, kept2, dropped2);
            return [scores, selected, kept, dropped, scores2, selected2, kept2, dropped2];
        }));
        return cases;
    }

    private static ITensor[] Product(CaseInputs c, int m, int n, int k, GemmOptions options)
    {
        var a = options.TransposeA ? c.Uniform(1, 1, k, m) : c.Uniform(1, 1, m, k);
        var b = options.TransposeB ? c.Uniform(2, 1, n, k) : c.Uniform(2, 1, k, n);
        var y = c.Uniform(3, 1, m, n);
        Ops.MatMul(a, b, y, options);
        return [y];
    }
}
