// `kernels`: for each kernel and shape, the rate on the chosen device (GFLOP/s or G elements/s)
// beside a plain managed baseline measured in the same run, and the launch overhead of a trivial
// kernel. Every kernel's output is checked against its baseline before it is timed. Fused
// attention's baseline is the composed GEMM + softmax path it replaced, run on the same device.
using System.Text.Json;
using ILGPU;
using ILGPU.Runtime;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using Device = IlgpuVit.Runtime.Device;

namespace IlgpuVit.Benchmarks;

public sealed record KernelResult(string Kernel, string Shape, string Unit, double Rate, double MedianMs, double P10Ms, double P90Ms,
    double? BaselineRate, double? Speedup, string BaselineName = "managed");

/// <summary>A kernel with nothing to do, for measuring what a launch costs.</summary>
public static class TrivialKernels
{
    public static void EmptyKernel(Index1D index, ArrayView<float> x) { }
}

public static class KernelBenchmarks
{
    public static int Run(string deviceSpec, string? jsonPath, bool quick)
    {
        using var device = Device.Open(deviceSpec);
        Console.WriteLine($"device: {device}   (rates: median over repeated runs; managed baseline measured in the same run)");
        double budget = quick ? 0.2 : 1.0;
        var results = new List<KernelResult>();
        void Add(KernelResult r)
        {
            results.Add(r);
            Console.WriteLine($"{r.Kernel,-24} {r.Shape,-18} {r.Rate,9:F2} {r.Unit,-11} median {r.MedianMs,9:F4} ms" +
                (r.BaselineRate is { } b ? $"   {r.BaselineName} {b,8:F2}  x{r.Speedup:F2}" : ""));
        }

        double peak = ManagedBaselines.FmaPeakGflops();
        Console.WriteLine($"FMA peak of this machine (Vector512 chains in registers, every core): {peak:F0} GFLOP/s");
        Add(Launch(device, budget));
        foreach (var n in quick ? new[] { 256, 512 } : new[] { 256, 512, 1024 })
            Add(Gemm(device, n, n, n, budget));
        Add(Gemm(device, 8 * 197, 384, 384, budget, "gemm (ViT-S proj)"));
        Add(Gemm(device, 8 * 197, 1536, 384, budget, "gemm (ViT-S fc1)"));
        Add(AttentionScores(device, 8, 197, 6, 64, budget));
        foreach (var (images, tokens, channels, heads) in new[] { (128, 50, 64, 4), (8, 197, 384, 6) })
            foreach (var backward in new[] { false, true })
                Add(Attention(device, images, tokens, channels, heads, backward, budget));
        foreach (var (rows, n) in new[] { (8 * 6 * 197, 197), (4096, 1024) })
            Add(Softmax(device, rows, n, budget));
        foreach (var (rows, n) in new[] { (8 * 197, 384), (64 * 197, 768) })
            Add(LayerNorm(device, rows, n, budget));
        Add(Gelu(device, 8 * 197 * 1536, budget));
        Add(TopK(device, 8, 196, 137, budget));
        Add(TopK(device, 64, 576, 288, budget));
        Add(Gather(device, 8, 197, 138, 384, budget));

        var summary = new { device = device.ToString(), machine = Environment.ProcessorCount + " cores", fmaPeakGflops = peak, results };
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {jsonPath}");
        }
        return 0;
    }

    /// <summary>A trivial kernel, one index per worker, launched and waited for; baseline: an empty Parallel.For.</summary>
    private static KernelResult Launch(Device device, double budget)
    {
        using var x = device.Zeros(1);
        // Loaded as every fast-path kernel is: through the device's own CPU launcher unless ILGPUVIT_CPU_LAUNCH=ilgpu.
        var kernel = device.Accelerator.LoadIndexKernel<ArrayView<float>>(TrivialKernels.EmptyKernel, 1);
        var stream = device.Accelerator.DefaultStream;
        int workers = device.Info.ComputeUnits;
        var timing = Measure.Time(() => { kernel(stream, workers, x.View); device.Synchronize(); }, warmup: 20, minRuns: 200, budgetSeconds: budget);
        var baseline = Measure.Time(() => Parallel.For(0, workers, _ => { }), warmup: 20, minRuns: 200, budgetSeconds: budget);
        // Reported as launches per millisecond so that higher is better, like every other rate.
        return new KernelResult("launch (empty kernel)", $"{workers} indices", "launch/ms", 1e-3 / timing.MedianSeconds,
            timing.MedianSeconds * 1e3, timing.P10Seconds * 1e3, timing.P90Seconds * 1e3, 1e-3 / baseline.MedianSeconds, baseline.MedianSeconds / timing.MedianSeconds);
    }

    private static KernelResult Gemm(Device device, int m, int n, int k, double budget, string name = "gemm")
    {
        var a = Random(1, m * k);
        var b = Random(2, k * n);
        var expected = new float[m * n];
        using var ta = device.FromArray(a, m, k);
        using var tb = device.FromArray(b, k, n);
        using var tc = device.Zeros(m, n);
        return Case(device, name, $"{m}x{n}x{k}", "GFLOP/s", 2.0 * m * n * k, budget,
            run: () => Ops.MatMul(ta, tb, tc),
            baseline: () => ManagedBaselines.Gemm(a, b, expected, m, n, k),
            verify: () => Verify(name, tc.ToArray(), expected, 1e-3));
    }

    private static KernelResult Softmax(Device device, int rows, int n, double budget)
    {
        var x = Random(3, rows * n, 4f);
        var expected = new float[rows * n];
        using var tx = device.FromArray(x, rows, n);
        using var ty = device.Zeros(rows, n);
        return Case(device, "softmax", $"{rows}x{n}", "Gelem/s", (double)rows * n, budget,
            run: () => Ops.Softmax(tx, ty),
            baseline: () => ManagedBaselines.Softmax(x, expected, rows, n),
            verify: () => Verify("softmax", ty.ToArray(), expected, 1e-5));
    }

    /// <summary>scores[b, h] = q k^T over every head of a fused qkv buffer in one strided launch.</summary>
    private static KernelResult AttentionScores(Device device, int images, int tokens, int heads, int dim, double budget)
    {
        int width = heads * dim;
        var qkv = Random(11, images * tokens * 3 * width);
        var expected = new float[images * heads * tokens * tokens];
        using var tq = device.FromArray(qkv, images, tokens, 3 * width);
        using var ts = device.Zeros(images, heads, tokens, tokens);
        void Run() => Ops.Gemm(images, heads, tokens, tokens, dim,
            tq, new MatrixLayout(0, 3 * width, tokens * 3 * width, dim),
            tq, new MatrixLayout(width, 3 * width, tokens * 3 * width, dim),
            ts, new MatrixLayout(0, tokens, heads * tokens * tokens, tokens * tokens),
            new GemmOptions { TransposeB = true });
        return Case(device, "gemm (attention q.kT)", $"{images}x{heads}x{tokens}^2x{dim}", "GFLOP/s", 2.0 * images * heads * tokens * tokens * dim, budget,
            run: Run,
            baseline: () => ManagedBaselines.AttentionScores(qkv, expected, images, tokens, heads, dim),
            verify: () => Verify("attention scores", ts.ToArray(), expected, 1e-3));
    }

    /// <summary>
    /// Fused attention (Ops.AttentionForward, and AttentionBackward when <paramref name="backward"/>) against the
    /// composed strided-GEMM + softmax path on the same device; rate counts the matrix products only (4 B H T² d
    /// FLOPs forward, 8 more backward).
    /// </summary>
    private static KernelResult Attention(Device device, int images, int tokens, int channels, int heads, bool backward, double budget)
    {
        var qkv = Random(12, images * tokens * 3 * channels);
        float scale = 1f / MathF.Sqrt(channels / heads);
        using var tq = device.FromArray(qkv, images, tokens, 3 * channels);
        using var dOutput = device.FromArray(Random(13, images * tokens * channels), images, tokens, channels);
        using var p = device.Zeros(images, heads, tokens, tokens);
        using var o = device.Zeros(images, tokens, channels);
        using var dQkv = device.Zeros(images, tokens, 3 * channels);
        using var composedP = device.Zeros(images, heads, tokens, tokens);
        using var composedO = device.Zeros(images, tokens, channels);
        using var composedDQkv = device.Zeros(images, tokens, 3 * channels);
        var g = AttentionArgs.Check("attention", tq, heads, scale, p);
        string name = backward ? "attention fwd+bwd" : "attention fwd";
        return Case(device, name, $"{images}x{tokens}x{channels} h{heads}", "GFLOP/s", (backward ? 12.0 : 4.0) * images * tokens * tokens * channels, budget,
            run: () =>
            {
                Ops.AttentionForward(tq, heads, scale, null, p, o);
                if (backward) Ops.AttentionBackward(tq, p, dOutput, dQkv, heads, scale, accumulate: false);
            },
            baseline: () =>
            {
                Ops.AttentionForwardComposed(tq, g, null, composedP, composedO);
                if (backward) Ops.AttentionBackwardComposed(tq, g, composedP, dOutput, composedDQkv, accumulate: false);
                device.Synchronize();
            },
            verify: () =>
            {
                Verify(name + " P", p.ToArray(), composedP.ToArray(), 1e-4);
                Verify(name + " O", o.ToArray(), composedO.ToArray(), 1e-4);
                if (backward) Verify(name + " dQkv", dQkv.ToArray(), composedDQkv.ToArray(), 1e-3);
            },
            baselineName: "gemm path");
    }

    private static KernelResult LayerNorm(Device device, int rows, int n, double budget)
    {
        var x = Random(5, rows * n, 3f);
        var gamma = Random(6, n);
        var beta = Random(7, n);
        var expected = new float[rows * n];
        using var tx = device.FromArray(x, rows, n);
        using var tg = device.FromArray(gamma, n);
        using var tb = device.FromArray(beta, n);
        using var ty = device.Zeros(rows, n);
        return Case(device, "layernorm", $"{rows}x{n}", "Gelem/s", (double)rows * n, budget,
            run: () => Ops.LayerNorm(tx, tg, tb, ty),
            baseline: () => ManagedBaselines.LayerNorm(x, gamma, beta, expected, rows, n, 1e-6f),
            verify: () => Verify("layernorm", ty.ToArray(), expected, 1e-4));
    }

    private static KernelResult Gelu(Device device, int length, double budget)
    {
        var x = Random(8, length, 4f);
        var expected = new float[length];
        using var tx = device.FromArray(x, length);
        using var ty = device.Zeros(length);
        return Case(device, "gelu (exact, erf)", $"{length}", "Gelem/s", length, budget,
            run: () => Ops.Gelu(tx, ty),
            baseline: () => ManagedBaselines.Gelu(x, expected),
            verify: () => Verify("gelu", ty.ToArray(), expected, 1e-5));
    }

    private static KernelResult Gather(Device device, int images, int tokens, int kept, int channels, double budget)
    {
        var x = Random(9, images * tokens * channels);
        var r = new Random(10);
        var index = Enumerable.Range(0, images).SelectMany(_ => Enumerable.Range(0, tokens).OrderBy(_ => r.Next()).Take(kept)).ToArray();
        var expected = new float[images * kept * channels];
        using var tx = device.FromArray(x, images, tokens, channels);
        using var ti = Tensor<int>.FromArray(device, index, images, kept);
        using var ty = device.Zeros(images, kept, channels);
        return Case(device, "gather rows", $"{images}x{tokens}->{kept}x{channels}", "Gelem/s", (double)images * kept * channels, budget,
            run: () => Ops.GatherRows(tx, ti, ty),
            baseline: () => ManagedBaselines.GatherRows(x, index, expected, images, tokens, kept, channels),
            verify: () => Verify("gather", ty.ToArray(), expected, 0));
    }

    private static KernelResult TopK(Device device, int rows, int n, int k, double budget)
    {
        var x = Random(4, rows * n);
        var expected = new int[rows * k];
        using var tx = device.FromArray(x, rows, n);
        using var ti = Tensor<int>.Zeros(device, rows, k);
        return Case(device, "topk (Top-K keep)", $"{rows}x{n} k={k}", "Gelem/s", (double)rows * n, budget,
            run: () => Ops.TopK(tx, ti),
            baseline: () => ManagedBaselines.TopK(x, expected, rows, n, k),
            verify: () =>
            {
                if (!ti.ToArray().SequenceEqual(expected)) throw new InvalidOperationException("topk: indices differ from the managed baseline.");
            });
    }

    /// <summary>
    /// Times the managed baseline, runs the kernel once and checks it against the baseline's output
    /// (verify throws on a mismatch), then times the kernel, waiting for the device after each run.
    /// </summary>
    private static KernelResult Case(Device device, string kernel, string shape, string unit, double work, double budget,
        Action run, Action baseline, Action verify, string baselineName = "managed")
    {
        var baselineTiming = Measure.Time(baseline, budgetSeconds: budget);
        run();
        verify();
        var timing = Measure.Time(() => { run(); device.Synchronize(); }, budgetSeconds: budget);
        return Result(kernel, shape, unit, work, timing, baselineTiming, baselineName);
    }

    private static KernelResult Result(string kernel, string shape, string unit, double work, Timing t, Timing? baseline, string baselineName = "managed")
    {
        double rate = work / t.MedianSeconds / 1e9;
        double? b = baseline is { } bt ? work / bt.MedianSeconds / 1e9 : null;
        return new KernelResult(kernel, shape, unit, rate, t.MedianSeconds * 1e3, t.P10Seconds * 1e3, t.P90Seconds * 1e3, b, b is null ? null : rate / b, baselineName);
    }

    private static void Verify(string kernel, float[] actual, float[] expected, double tolerance)
    {
        for (int i = 0; i < actual.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i]))))
                throw new InvalidOperationException($"{kernel}: element {i} is {actual[i]}, the managed baseline gives {expected[i]}.");
    }

    private static float[] Random(int seed, int length, float scale = 1f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();
    }
}
