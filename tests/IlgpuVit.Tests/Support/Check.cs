// One helper compares any kernel output with a float64 reference and, on failure, prints the first
// mismatches and the largest error, so a failing test says where and by how much.
using System.Text;
using Xunit.Sdk;

namespace IlgpuVit.Tests.Support;

public static class Check
{
    /// <summary>Asserts |actual - expected| &lt;= atol + rtol |expected| elementwise.</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double rtol = 1e-5, double atol = 1e-5, string what = "output")
    {
        if (actual.Length != expected.Length)
            throw new XunitException($"{what}: {actual.Length} elements, expected {expected.Length}.");
        var report = new StringBuilder();
        int bad = 0, worst = -1;
        double worstErr = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            bool ok = err <= atol + rtol * Math.Abs(expected[i]);
            if (!ok || double.IsNaN(actual[i]))
            {
                if (bad < 5) report.AppendLine($"  [{i}] got {actual[i]:G9}, expected {expected[i]:G9} (error {err:G3})");
                bad++;
            }
            if (err > worstErr || double.IsNaN(err)) (worstErr, worst) = (err, i);
        }
        if (bad > 0)
            throw new XunitException($"{what}: {bad} of {actual.Length} elements differ (rtol {rtol}, atol {atol}); largest error {worstErr:G3} at [{worst}].\n{report}");
    }

    /// <summary>Exact equality, for indices.</summary>
    public static void Equal(ReadOnlySpan<int> actual, ReadOnlySpan<int> expected, string what = "indices")
    {
        if (actual.Length != expected.Length)
            throw new XunitException($"{what}: {actual.Length} elements, expected {expected.Length}.");
        for (int i = 0; i < actual.Length; i++)
            if (actual[i] != expected[i])
                throw new XunitException($"{what}: first difference at [{i}]: got {actual[i]}, expected {expected[i]}.");
    }

    public static double[] ToDouble(this float[] x) => Array.ConvertAll(x, v => (double)v);
}

// Not named Data: inside namespace IlgpuVit.* that name resolves to the namespace IlgpuVit.Data first.
public static class TestData
{
    /// <summary>Deterministic uniform values in [-scale, scale).</summary>
    public static float[] Uniform(int seed, long length, float scale = 1f)
    {
        var random = new Random(seed);
        var x = new float[length];
        for (long i = 0; i < length; i++) x[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return x;
    }
}
