// Float64 reference forwards of the ViT's layers, written plainly (loops over indices, no tricks),
// for finite-difference gradient checks of the autodiff engine and whole-block checks.
// Layouts match the library: row-major, Linear weights (out, in), qkv columns [q | k | v].
using MathNet.Numerics;

namespace IlgpuVit.Tests.Support;

public static class Reference
{
    /// <summary>y (rows, out) = x (rows, in) Wᵀ + b.</summary>
    public static double[] Linear(double[] x, double[] w, double[]? b, int rows, int inputs, int outputs)
    {
        var y = new double[rows * outputs];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outputs; o++)
            {
                double s = b?[o] ?? 0;
                for (int i = 0; i < inputs; i++) s += x[r * inputs + i] * w[o * inputs + i];
                y[r * outputs + o] = s;
            }
        return y;
    }

    /// <summary>LayerNorm over rows of length c.</summary>
    public static double[] LayerNorm(double[] x, double[] gamma, double[] beta, int c, double eps = 1e-6)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / c; r++)
        {
            double mean = 0, variance = 0;
            for (int j = 0; j < c; j++) mean += x[r * c + j];
            mean /= c;
            for (int j = 0; j < c; j++) variance += (x[r * c + j] - mean) * (x[r * c + j] - mean);
            double rstd = 1 / Math.Sqrt(variance / c + eps);
            for (int j = 0; j < c; j++) y[r * c + j] = (x[r * c + j] - mean) * rstd * gamma[j] + beta[j];
        }
        return y;
    }

    /// <summary>Exact GELU.</summary>
    public static double[] Gelu(double[] x) => x.Select(v => 0.5 * v * (1 + SpecialFunctions.Erf(v / Math.Sqrt(2)))).ToArray();

    /// <summary>Elementwise a + b, b repeated over a's leading axes.</summary>
    public static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i % b.Length]).ToArray();

    /// <summary>Multi-head attention over qkv (B, T, 3C) with an optional key bias (B, T): O (B, T, C).</summary>
    public static double[] Attention(double[] qkv, int batch, int tokens, int channels, int heads, double[]? keyBias = null)
    {
        int d = channels / heads, stride = 3 * channels;
        double scale = 1 / Math.Sqrt(d);
        var o = new double[batch * tokens * channels];
        var p = new double[tokens];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < tokens; i++)
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < tokens; j++)
                    {
                        double s = 0;
                        for (int e = 0; e < d; e++)
                            s += qkv[(b * tokens + i) * stride + h * d + e] * qkv[(b * tokens + j) * stride + channels + h * d + e];
                        p[j] = s * scale + (keyBias?[b * tokens + j] ?? 0);
                        max = Math.Max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < tokens; j++) sum += p[j] = Math.Exp(p[j] - max);
                    for (int e = 0; e < d; e++)
                    {
                        double acc = 0;
                        for (int j = 0; j < tokens; j++) acc += p[j] / sum * qkv[(b * tokens + j) * stride + 2 * channels + h * d + e];
                        o[(b * tokens + i) * channels + h * d + e] = acc;
                    }
                }
        return o;
    }

    /// <summary>Mean cross-entropy with label smoothing of logits (B, classes).</summary>
    public static double CrossEntropy(double[] logits, int[] labels, int classes, double smoothing = 0)
    {
        double total = 0;
        for (int b = 0; b < labels.Length; b++)
        {
            var row = logits.AsSpan(b * classes, classes);
            double max = double.NegativeInfinity, sum = 0, all = 0;
            foreach (var v in row) max = Math.Max(max, v);
            foreach (var v in row) { sum += Math.Exp(v - max); all += v; }
            double lse = max + Math.Log(sum);
            total += lse - (1 - smoothing) * row[labels[b]] - smoothing / classes * all;
        }
        return total / labels.Length;
    }

    /// <summary>Rows of x (B, T, C) at index (B, K).</summary>
    public static double[] GatherRows(double[] x, int[] index, int batch, int tokens, int channels)
    {
        int kept = index.Length / batch;
        var y = new double[batch * kept * channels];
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < kept; k++)
                Array.Copy(x, (b * tokens + index[b * kept + k]) * channels, y, (b * kept + k) * channels, channels);
        return y;
    }

    /// <summary>A pre-norm transformer block on x (B, T, C); parameters in the block's order (see BlockParameters).</summary>
    public static double[] Block(double[] x, double[][] p, int batch, int tokens, int channels, int heads, int hidden, double[]? keyBias = null)
    {
        int rows = batch * tokens;
        var qkv = Linear(LayerNorm(x, p[0], p[1], channels), p[2], p[3], rows, channels, 3 * channels);
        var attn = Linear(Attention(qkv, batch, tokens, channels, heads, keyBias), p[4], p[5], rows, channels, channels);
        var x1 = x.Select((v, i) => v + attn[i]).ToArray();
        var h = Gelu(Linear(LayerNorm(x1, p[6], p[7], channels), p[8], p[9], rows, channels, hidden));
        var mlp = Linear(h, p[10], p[11], rows, hidden, channels);
        return x1.Select((v, i) => v + mlp[i]).ToArray();
    }
}
