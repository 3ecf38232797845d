// Row-level helpers the token kernels share, each a Vector512 body for the CPU fast path with a
// scalar twin that CUDA and OpenCL compile (Runtime/CpuFastPath):
//   ScaleRow:  dst = (or +=) scale · src               (gathers, scatters, plan combination)
//   SumRows:   dst = scale · Σ_h src[h-th row]          (means over heads: head-mean keys, CLS scores)
//   Dot:       Σ a · b                                   (best matches by cosine)

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>dst[dstOffset + j] = (or +=) scale · src[srcOffset + j] for j &lt; n (scale 1 copies exactly).</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(ScaleRowPortable))]
    internal static unsafe void ScaleRow(ArrayView<float> src, ArrayView<float> dst, int srcOffset, int dstOffset, int n, float scale, int accumulate)
    {
        float* s = FastMath.Address(src, srcOffset);
        float* d = FastMath.Address(dst, dstOffset);
        var vs = Vector512.Create(scale);
        int j = 0;
        if (accumulate != 0)
        {
            for (; j + 16 <= n; j += 16) Vector512.FusedMultiplyAdd(Vector512.Load(s + j), vs, Vector512.Load(d + j)).Store(d + j);
            for (; j < n; j++) d[j] = MathF.FusedMultiplyAdd(s[j], scale, d[j]);
        }
        else
        {
            for (; j + 16 <= n; j += 16) (Vector512.Load(s + j) * vs).Store(d + j);
            for (; j < n; j++) d[j] = s[j] * scale;
        }
    }

    internal static void ScaleRowPortable(ArrayView<float> src, ArrayView<float> dst, int srcOffset, int dstOffset, int n, float scale, int accumulate)
    {
        if (accumulate != 0)
            for (int j = 0; j < n; j++) dst[dstOffset + j] += src[srcOffset + j] * scale;
        else
            for (int j = 0; j < n; j++) dst[dstOffset + j] = src[srcOffset + j] * scale;
    }

    /// <summary>dst[dstOffset + j] = scale · Σ_{h &lt; count} src[srcOffset + h · stride + j] for j &lt; n.</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(SumRowsPortable))]
    internal static unsafe void SumRows(ArrayView<float> src, ArrayView<float> dst, long srcOffset, long stride, int count, int dstOffset, int n,
        float scale)
    {
        float* s = FastMath.Address(src, srcOffset);
        float* d = FastMath.Address(dst, dstOffset);
        var vs = Vector512.Create(scale);
        int j = 0;
        for (; j + 16 <= n; j += 16)
        {
            var sum = Vector512.Load(s + j);
            for (int h = 1; h < count; h++) sum += Vector512.Load(s + h * stride + j);
            (sum * vs).Store(d + j);
        }
        for (; j < n; j++)
        {
            float sum = s[j];
            for (int h = 1; h < count; h++) sum += s[h * stride + j];
            d[j] = sum * scale;
        }
    }

    internal static void SumRowsPortable(ArrayView<float> src, ArrayView<float> dst, long srcOffset, long stride, int count, int dstOffset, int n,
        float scale)
    {
        for (int j = 0; j < n; j++)
        {
            float sum = src[srcOffset + j];
            for (int h = 1; h < count; h++) sum += src[srcOffset + h * stride + j];
            dst[dstOffset + j] = sum * scale;
        }
    }

    /// <summary>Σ_{j &lt; n} a[aOffset + j] · b[bOffset + j].</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(DotPortable))]
    internal static unsafe float Dot(ArrayView<float> a, ArrayView<float> b, int aOffset, int bOffset, int n)
    {
        float* x = FastMath.Address(a, aOffset);
        float* y = FastMath.Address(b, bOffset);
        var sum = Vector512<float>.Zero;
        int j = 0;
        for (; j + 16 <= n; j += 16) sum = Vector512.FusedMultiplyAdd(Vector512.Load(x + j), Vector512.Load(y + j), sum);
        float total = Vector512.Sum(sum);
        for (; j < n; j++) total = MathF.FusedMultiplyAdd(x[j], y[j], total);
        return total;
    }

    internal static float DotPortable(ArrayView<float> a, ArrayView<float> b, int aOffset, int bOffset, int n)
    {
        float total = 0f;
        for (int j = 0; j < n; j++) total += a[aOffset + j] * b[bOffset + j];
        return total;
    }
}
