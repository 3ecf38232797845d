// Plain managed implementations measured in the same run as the kernels, so every figure comes
// with a ratio against code a C# developer would write without ILGPU.
using System.Runtime.Intrinsics;

namespace IlgpuVit.Benchmarks;

public static class ManagedBaselines
{
    /// <summary>C = A B, row-major, i-k-j order with a Vector512 inner loop over j, rows split over cores.</summary>
    public static unsafe void Gemm(float[] a, float[] b, float[] c, int m, int n, int k)
    {
        Parallel.For(0, m, i =>
        {
            fixed (float* pa = a, pb = b, pc = c)
            {
                float* crow = pc + (long)i * n;
                new Span<float>(crow, n).Clear();
                for (int p = 0; p < k; p++)
                {
                    var av = Vector512.Create(pa[(long)i * k + p]);
                    float* brow = pb + (long)p * n;
                    int j = 0;
                    for (; j + 16 <= n; j += 16)
                        Vector512.FusedMultiplyAdd(av, Vector512.Load(brow + j), Vector512.Load(crow + j)).Store(crow + j);
                    for (; j < n; j++) crow[j] += pa[(long)i * k + p] * brow[j];
                }
            }
        });
    }

    /// <summary>Row softmax with scalar loops, rows split over cores.</summary>
    public static void Softmax(float[] x, float[] y, int rows, int n) => Parallel.For(0, rows, r =>
    {
        var xs = x.AsSpan(r * n, n);
        var ys = y.AsSpan(r * n, n);
        float max = float.NegativeInfinity;
        foreach (var v in xs) max = MathF.Max(max, v);
        float sum = 0;
        for (int j = 0; j < n; j++) sum += ys[j] = MathF.Exp(xs[j] - max);
        for (int j = 0; j < n; j++) ys[j] /= sum;
    });

    /// <summary>LayerNorm with scalar loops, rows split over cores.</summary>
    public static void LayerNorm(float[] x, float[] gamma, float[] beta, float[] y, int rows, int n, float eps) => Parallel.For(0, rows, r =>
    {
        var xs = x.AsSpan(r * n, n);
        var ys = y.AsSpan(r * n, n);
        float mean = 0;
        foreach (var v in xs) mean += v;
        mean /= n;
        float var = 0;
        foreach (var v in xs) var += (v - mean) * (v - mean);
        float rstd = 1f / MathF.Sqrt(var / n + eps);
        for (int j = 0; j < n; j++) ys[j] = (xs[j] - mean) * rstd * gamma[j] + beta[j];
    });

    /// <summary>Per-row top-k by sorting indices (value descending, lower index first on ties), rows split over cores.</summary>
    public static void TopK(float[] x, int[] top, int rows, int n, int k) => Parallel.For(0, rows, r =>
    {
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (i, j) => x[r * n + j].CompareTo(x[r * n + i]) is var c && c != 0 ? c : i.CompareTo(j));
        Array.Copy(order, 0, top, r * k, k);
    });

    /// <summary>Exact GELU with a scalar erf (MathNet), elements split over cores.</summary>
    public static void Gelu(float[] x, float[] y) => Parallel.For(0, (x.Length + 4095) / 4096, c =>
    {
        for (int i = c * 4096; i < Math.Min(x.Length, (c + 1) * 4096); i++)
            y[i] = (float)(0.5 * x[i] * (1 + MathNet.Numerics.SpecialFunctions.Erf(x[i] / Math.Sqrt(2))));
    });

    /// <summary>y[b, k, :] = x[b, index[b, k], :] with Array.Copy per row.</summary>
    public static void GatherRows(float[] x, int[] index, float[] y, int images, int tokens, int kept, int channels) =>
        Parallel.For(0, images, b =>
        {
            for (int k = 0; k < kept; k++)
                Array.Copy(x, ((long)b * tokens + index[b * kept + k]) * channels, y, ((long)b * kept + k) * channels, channels);
        });

    /// <summary>Attention scores q k^T per image and head from a (B, T, 3, H, D) buffer, Vector512 dot products.</summary>
    public static void AttentionScores(float[] qkv, float[] scores, int images, int tokens, int heads, int dim) =>
        Parallel.For(0, images * heads, z =>
        {
            int b = z / heads, h = z % heads, width = heads * dim;
            for (int i = 0; i < tokens; i++)
            {
                var q = qkv.AsSpan((b * tokens + i) * 3 * width + h * dim, dim);
                for (int j = 0; j < tokens; j++)
                {
                    var k = qkv.AsSpan((b * tokens + j) * 3 * width + width + h * dim, dim);
                    var acc = Vector512<float>.Zero;
                    int e = 0;
                    for (; e + 16 <= dim; e += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Create(q[e..]), Vector512.Create(k[e..]), acc);
                    float s = Vector512.Sum(acc);
                    for (; e < dim; e++) s += q[e] * k[e];
                    scores[(z * tokens + i) * tokens + j] = s;
                }
            }
        });

    /// <summary>
    /// The machine's FMA ceiling: 12 independent Vector512 FMA chains in registers on every core,
    /// no memory traffic. GEMM figures read as a fraction of this.
    /// </summary>
    public static double FmaPeakGflops()
    {
        const int chains = 12;
        const long iterations = 20_000_000;   // ~0.1 s a core: long enough that every thread runs at once
        Chains(1000);
        double best = 0;
        for (int trial = 0; trial < 3; trial++)   // a ceiling: the best trial, as the host's load varies
        {
            var threads = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() => Chains(iterations))).ToList();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            best = Math.Max(best, iterations * threads.Count * chains * 32.0 / clock.Elapsed.TotalSeconds / 1e9);
        }
        return best;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        static float Chains(long n)
        {
            var a = Vector512.Create(1.0000001f);
            var b = Vector512.Create(0.9999999f);
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
            Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
            for (long i = 0; i < n; i++)
            {
                c0 = Vector512.FusedMultiplyAdd(a, c0, b); c1 = Vector512.FusedMultiplyAdd(a, c1, b); c2 = Vector512.FusedMultiplyAdd(a, c2, b);
                c3 = Vector512.FusedMultiplyAdd(a, c3, b); c4 = Vector512.FusedMultiplyAdd(a, c4, b); c5 = Vector512.FusedMultiplyAdd(a, c5, b);
                c6 = Vector512.FusedMultiplyAdd(a, c6, b); c7 = Vector512.FusedMultiplyAdd(a, c7, b); c8 = Vector512.FusedMultiplyAdd(a, c8, b);
                c9 = Vector512.FusedMultiplyAdd(a, c9, b); c10 = Vector512.FusedMultiplyAdd(a, c10, b); c11 = Vector512.FusedMultiplyAdd(a, c11, b);
            }
            return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
        }
    }
}
