// Math shared by kernels: exact GELU and its derivative through erf, in a Vector512 form for the CPU fast path and a
// scalar form that every backend compiles. Both use the same erf approximation (Abramowitz &
// Stegun 7.1.26, |error| < 1.5e-7), so the CPU fast path and the GPU kernels agree to rounding.
// Exp(Vector512) is Cephes' expf (Moshier), for every softmax (attention, Softmax, CrossEntropy) and GELU's erf: .NET's
// Vector512.Exp measured 88 ns per call here (it computes in double), which made the fused attention forward exp-bound
// and a GEMM with the GELU epilogue 2-3x slower at the small models' K of 64.

namespace IlgpuVit.Kernels;

internal static class FastMath
{
    /// <summary>The address of element <paramref name="offset"/> of a CPU view (fast-path helpers only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe T* Address<T>(ArrayView<T> view, long offset) where T : unmanaged =>
        (T*)Unsafe.AsPointer(ref view[offset]);

    private const float P = 0.3275911f;
    private const float A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f, A4 = -1.453152027f, A5 = 1.061405429f;
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>erf(x), scalar; compiles on every backend.</summary>
    public static float Erf(float x)
    {
        float ax = MathF.Abs(x);
        float t = 1f / (1f + P * ax);
        float y = 1f - ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t * MathF.Exp(-ax * ax);
        return x < 0 ? -y : y;
    }

    /// <summary>Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).</summary>
    public static float Gelu(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    /// <summary>d/dx of exact GELU: Phi(x) + x phi(x), phi the standard normal density.</summary>
    public static float GeluDerivative(float x) =>
        0.5f * (1f + Erf(x * InvSqrt2)) + x * InvSqrt2Pi * MathF.Exp(-0.5f * x * x);

    /// <summary>erf(x) for 16 lanes (CPU only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Erf(Vector512<float> x)
    {
        var ax = Vector512.Abs(x);
        var t = Vector512<float>.One / (Vector512<float>.One + Vector512.Create(P) * ax);
        var poly = Vector512.FusedMultiplyAdd(Vector512.Create(A5), t, Vector512.Create(A4));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(A3));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(A2));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(A1));
        var y = Vector512<float>.One - poly * t * Exp(-(ax * ax));
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), -y, y);
    }

    /// <summary>Exact GELU for 16 lanes (CPU only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Gelu(Vector512<float> x) =>
        Vector512.Create(0.5f) * x * (Vector512<float>.One + Erf(x * Vector512.Create(InvSqrt2)));

    /// <summary>d/dx of exact GELU for 16 lanes (CPU only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> GeluDerivative(Vector512<float> x) =>
        Vector512.Create(0.5f) * (Vector512<float>.One + Erf(x * Vector512.Create(InvSqrt2))) +
        x * Vector512.Create(InvSqrt2Pi) * Exp(Vector512.Create(-0.5f) * x * x);

    private const float ExpHigh = 88.3762626647949f, ExpLow = -87.3365478515625f;   // e^x stays a normal float
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float E0 = 1.9875691500e-4f, E1 = 1.3981999507e-3f, E2 = 8.3334519073e-3f, E3 = 4.1665795894e-2f, E4 = 1.6666665459e-1f, E5 = 5.0000001201e-1f;

    /// <summary>
    /// e^x for 16 lanes (CPU only), within 2 ulp: x = n ln 2 + r with |r| ≤ ln 2 / 2, e^r by a degree-7 polynomial
    /// (Cephes expf), 2^n built in the exponent bits. Below −87.3 (where e^x leaves the normal floats), and for −∞, 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var underflow = Vector512.LessThan(x, Vector512.Create(ExpLow));
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(ExpLow)), Vector512.Create(ExpHigh));
        var n = Vector512.Round(x * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(E0), r, Vector512.Create(E1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.AndNot(p * scale, underflow.AsSingle());
    }

    /// <summary>
    /// The largest of 16 lanes (CPU only), by halving with the processor's own max: a NaN lane may be passed over,
    /// so callers either hold no NaN (BestMatch's lanes) or turn a NaN into a NaN result later anyway (a softmax's
    /// exp(x − max) of the NaN element). The IEEE max with its NaN and zero-sign fix-ups was a serial chain of about
    /// 20 instructions per call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> v)
    {
        var half = Vector256.MaxNative(v.GetLower(), v.GetUpper());
        var quarter = Vector128.MaxNative(half.GetLower(), half.GetUpper());
        quarter = Vector128.MaxNative(quarter, Vector128.Shuffle(quarter, Vector128.Create(2, 3, 0, 1)));
        return Vector128.MaxNative(quarter, Vector128.Shuffle(quarter, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    /// <summary>The smallest of 16 lanes (CPU only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MinAcross(Vector512<int> v)
    {
        var half = Vector256.Min(v.GetLower(), v.GetUpper());
        var quarter = Vector128.Min(half.GetLower(), half.GetUpper());
        quarter = Vector128.Min(quarter, Vector128.Shuffle(quarter, Vector128.Create(2, 3, 0, 1)));
        return Vector128.Min(quarter, Vector128.Shuffle(quarter, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }
}
