// QuickStart: multi-head self-attention for a batch of token sequences with IlgpuVit's kernels,
// from a plain console app. Two strided GEMM launches cover every head of every image, reading the
// fused qkv buffer in place; the softmax adds a per-key bias, as proportional attention does.
//
//   dotnet run -c Release --project examples/QuickStart [-- cpu|cuda|opencl]
using System.Diagnostics;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

using var device = args.Length > 0 ? Device.Open(args[0]) : Device.Open();
Console.WriteLine($"device: {device}");

const int images = 8, tokens = 197, heads = 6, headDim = 64, width = heads * headDim;   // ViT-S/16 at 224 px
var random = new Random(0);
var qkvHost = new float[images * tokens * 3 * width];
for (int i = 0; i < qkvHost.Length; i++) qkvHost[i] = (float)(random.NextDouble() * 2 - 1);

using var qkv = device.FromArray(qkvHost, images, tokens, 3 * width);      // (B, T, 3, H, D)
using var scores = device.Zeros(images, heads, tokens, tokens);            // (B, H, T, T)
using var sizeBias = device.Zeros(images, tokens);                         // log(token size) = 0: every token is one patch
using var output = device.Zeros(images, tokens, width);                    // (B, T, H, D)

void Attention()
{
    // scores = q k^T / sqrt(d): q at column h*d of each row, k at column width + h*d.
    Ops.Gemm(images, heads, tokens, tokens, headDim,
        qkv, new MatrixLayout(0, 3 * width, tokens * 3 * width, headDim),
        qkv, new MatrixLayout(width, 3 * width, tokens * 3 * width, headDim),
        scores, new MatrixLayout(0, tokens, heads * tokens * tokens, tokens * tokens),
        new GemmOptions { TransposeB = true, Alpha = 1f / MathF.Sqrt(headDim) });
    Ops.Softmax(scores, scores, keyBias: sizeBias);
    // output[b, :, h] = attention[b, h] v[b, :, h]: v at column 2*width + h*d; heads interleave in the output row.
    Ops.Gemm(images, heads, tokens, headDim, tokens,
        scores, new MatrixLayout(0, tokens, heads * tokens * tokens, tokens * tokens),
        qkv, new MatrixLayout(2 * width, 3 * width, tokens * 3 * width, headDim),
        output, new MatrixLayout(0, width, tokens * width, headDim));
    device.Synchronize();
}

Attention();   // the first pass compiles the kernels
var clock = Stopwatch.StartNew();
for (int run = 0; run < 10; run++) Attention();
double ms = clock.Elapsed.TotalMilliseconds / 10;

// Check one output element against a direct float64 computation.
int b0 = 3, t0 = 100, h0 = 2, e0 = 17;
double[] logits = new double[tokens];
for (int j = 0; j < tokens; j++)
{
    double s = 0;
    for (int e = 0; e < headDim; e++)
        s += (double)qkvHost[(b0 * tokens + t0) * 3 * width + h0 * headDim + e] * qkvHost[(b0 * tokens + j) * 3 * width + width + h0 * headDim + e];
    logits[j] = s / Math.Sqrt(headDim);
}
double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max)), expected = 0;
for (int j = 0; j < tokens; j++)
    expected += Math.Exp(logits[j] - max) / sum * qkvHost[(b0 * tokens + j) * 3 * width + 2 * width + h0 * headDim + e0];
float actual = output.ToArray()[(b0 * tokens + t0) * width + h0 * headDim + e0];

Console.WriteLine($"attention for {images} images x {heads} heads x {tokens} tokens: {ms:F2} ms per pass");
Console.WriteLine($"check output[{b0}, {t0}, head {h0}, {e0}]: {actual:F6} (float64 reference {expected:F6})");
return Math.Abs(actual - expected) < 1e-4 ? 0 : 1;
