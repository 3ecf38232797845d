// Central finite differences in float64, the oracle every backward is checked against:
//   df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h,
// truncation error O(h^2 f''') and rounding error O(eps |f| / h); with h = 1e-6 and |f| ~ 100 both
// stay near 1e-8, far below float32 kernel error. Cost: 2 n evaluations of f, so keep n small.
namespace IlgpuVit.Tests.Support;

public static class FiniteDifference
{
    /// <summary>The gradient of the scalar function <paramref name="f"/> at <paramref name="x"/> by central differences.</summary>
    public static double[] Gradient(Func<double[], double> f, double[] x, double h = 1e-6)
    {
        var probe = (double[])x.Clone();
        var gradient = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            probe[i] = x[i] + h;
            double up = f(probe);
            probe[i] = x[i] - h;
            double down = f(probe);
            probe[i] = x[i];
            gradient[i] = (up - down) / (2 * h);
        }
        return gradient;
    }

    /// <summary>sum_i w_i y_i: the scalar whose gradient is the backward of y given the upstream gradient w.</summary>
    public static double Dot(double[] w, double[] y)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += w[i] * y[i];
        return s;
    }
}
