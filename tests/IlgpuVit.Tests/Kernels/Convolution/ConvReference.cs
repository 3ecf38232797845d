// Float64 references of the Hybrid ViT's convolution blocks, written from the definitions as plain
// loops (torch.nn.functional.conv2d / group_norm / max_pool2d after explicit padding), shared by the
// kernel tests and the autodiff gradient checks.
using IlgpuVit.Kernels;

namespace IlgpuVit.Tests.Kernels.Convolution;

public static class ConvReference
{
    /// <summary>y (B, Cout, OH, OW) = conv2d(x (B, C, H, W), w (Cout, C, kh, kw)) + b, zero padding.</summary>
    public static double[] Conv2d(double[] x, double[] w, double[]? bias, Conv2dGeometry g, int cout)
    {
        var y = new double[g.Batch * cout * g.OutPixels];
        ForEachTap(g, cout, (yi, xi, wi) => y[yi] += x[xi] * w[wi]);
        if (bias is not null)
            for (int i = 0; i < y.Length; i++) y[i] += bias[i / g.OutPixels % cout];
        return y;
    }

    /// <summary>The adjoints of <see cref="Conv2d"/> for upstream gradient dy: (dx, dw, db).</summary>
    public static (double[] Dx, double[] Dw, double[] Db) Conv2dBackward(double[] dy, double[] x, double[] w, Conv2dGeometry g, int cout)
    {
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[cout];
        ForEachTap(g, cout, (yi, xi, wi) =>
        {
            dx[xi] += dy[yi] * w[wi];
            dw[wi] += dy[yi] * x[xi];
        });
        for (int i = 0; i < dy.Length; i++) db[i / g.OutPixels % cout] += dy[i];
        return (dx, dw, db);
    }

    // Every (output, input, weight) index triple of the convolution whose input lies inside the image.
    private static void ForEachTap(Conv2dGeometry g, int cout, Action<int, int, int> tap)
    {
        for (int b = 0; b < g.Batch; b++)
            for (int o = 0; o < cout; o++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                        for (int c = 0; c < g.Channels; c++)
                            for (int ky = 0; ky < g.KernelHeight; ky++)
                                for (int kx = 0; kx < g.KernelWidth; kx++)
                                {
                                    int iy = oy * g.Stride - g.Padding.Top + ky, ix = ox * g.Stride - g.Padding.Left + kx;
                                    if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                                    tap(((b * cout + o) * g.OutHeight + oy) * g.OutWidth + ox,
                                        ((b * g.Channels + c) * g.Height + iy) * g.Width + ix,
                                        ((o * g.Channels + c) * g.KernelHeight + ky) * g.KernelWidth + kx);
                                }
    }

    /// <summary>GroupNorm of x (B, C, pixels) over groups, biased variance, per-channel affine.</summary>
    public static double[] GroupNorm(double[] x, double[] gamma, double[] beta, int batch, int channels, int groups, double eps = 1e-5)
    {
        int pixels = x.Length / (batch * channels), n = channels / groups * pixels;
        var y = new double[x.Length];
        for (int row = 0; row < batch * groups; row++)
        {
            var part = x.AsSpan(row * n, n);
            double mean = 0, variance = 0;
            foreach (var v in part) mean += v / n;
            foreach (var v in part) variance += (v - mean) * (v - mean) / n;
            for (int j = 0; j < n; j++)
            {
                int c = row % groups * (channels / groups) + j / pixels;
                y[row * n + j] = (part[j] - mean) / Math.Sqrt(variance + eps) * gamma[c] + beta[c];
            }
        }
        return y;
    }

    /// <summary>Max pooling with -inf padding; also each window's first maximum as a flat input index.</summary>
    public static (double[] Y, int[] Winner) MaxPool2d(double[] x, Conv2dGeometry g)
    {
        var y = new double[g.Batch * g.Channels * g.OutPixels];
        var winner = new int[y.Length];
        for (int plane = 0; plane < g.Batch * g.Channels; plane++)
            for (int oy = 0; oy < g.OutHeight; oy++)
                for (int ox = 0; ox < g.OutWidth; ox++)
                {
                    double best = double.NegativeInfinity;
                    int at = -1;
                    for (int ky = 0; ky < g.KernelHeight; ky++)
                        for (int kx = 0; kx < g.KernelWidth; kx++)
                        {
                            int iy = oy * g.Stride - g.Padding.Top + ky, ix = ox * g.Stride - g.Padding.Left + kx;
                            if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                            int i = (plane * g.Height + iy) * g.Width + ix;
                            if (at < 0 || x[i] > best) (best, at) = (x[i], i);
                        }
                    int o = (plane * g.OutHeight + oy) * g.OutWidth + ox;
                    (y[o], winner[o]) = (best, at);
                }
        return (y, winner);
    }

    /// <summary>(w - mean) / sqrt(var + eps) per output channel (row of w (rows, ...)), population variance.</summary>
    public static double[] StandardizeWeight(double[] w, int rows, double eps = 1e-8)
    {
        int n = w.Length / rows;
        var y = new double[w.Length];
        for (int r = 0; r < rows; r++)
        {
            var part = w.AsSpan(r * n, n);
            double mean = 0, variance = 0;
            foreach (var v in part) mean += v / n;
            foreach (var v in part) variance += (v - mean) * (v - mean) / n;
            for (int j = 0; j < n; j++) y[r * n + j] = (part[j] - mean) / Math.Sqrt(variance + eps);
        }
        return y;
    }
}
