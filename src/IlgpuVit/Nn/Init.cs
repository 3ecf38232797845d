// Parameter initialisation as timm's VisionTransformer does it (init_weights_vit_timm): Linear
// weights truncated normal std 0.02 (cut at two standard deviations), zero biases, LayerNorm ones
// and zeros, position embedding truncated normal 0.02, class token normal std 1e-6; the patch
// embedding conv keeps torch's default, uniform in ±1/sqrt(fan_in).
// One seeded System.Random draws every parameter in construction order, so a seed fixes the model.

namespace IlgpuVit.Nn;

/// <summary>Seeded parameter initialisers.</summary>
public static class Init
{
    /// <summary>Normal(0, std) truncated to ±2 std (redrawn outside), as timm's trunc_normal_.</summary>
    public static float[] TruncatedNormal(Random random, long length, double std)
    {
        var x = new float[length];
        for (long i = 0; i < length; i++)
        {
            double z;
            do z = Gaussian(random); while (Math.Abs(z) > 2);
            x[i] = (float)(z * std);
        }
        return x;
    }

    /// <summary>Normal(0, std).</summary>
    public static float[] Normal(Random random, long length, double std)
    {
        var x = new float[length];
        for (long i = 0; i < length; i++) x[i] = (float)(Gaussian(random) * std);
        return x;
    }

    /// <summary>Uniform in [−bound, bound).</summary>
    public static float[] Uniform(Random random, long length, double bound)
    {
        var x = new float[length];
        for (long i = 0; i < length; i++) x[i] = (float)((random.NextDouble() * 2 - 1) * bound);
        return x;
    }

    /// <summary>Every element equal to <paramref name="value"/>.</summary>
    public static float[] Constant(long length, float value)
    {
        var x = new float[length];
        Array.Fill(x, value);
        return x;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    private static double Gaussian(Random random)
    {
        double u = 1.0 - random.NextDouble(), v = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }
}
