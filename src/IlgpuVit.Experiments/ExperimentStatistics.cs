// The statistics of an experiment (docs/experiments-statistics.md): a 95% confidence interval of a
// mean over seeds (Student's t), of a paired difference over seeds (the same seeds and starting
// checkpoint on both sides, so the run-to-run noise they share cancels), and of a paired difference
// of accuracy over test images (a percentile bootstrap with a fixed seed, for inference-only
// comparisons of two specs on one checkpoint). A claim is decided by one rule: "held" when the
// interval of (claimed-better minus other) lies above zero, "not held" when it lies below zero, and
// "not distinguishable" when it contains zero or cannot be formed (fewer than two seeds).

using MathNet.Numerics.Distributions;

namespace IlgpuVit.Experiments;

/// <summary>A mean with its confidence interval.</summary>
/// <param name="Mean">The estimate.</param>
/// <param name="Low">Lower end of the interval (NaN when it cannot be formed).</param>
/// <param name="High">Upper end (NaN when it cannot be formed).</param>
/// <param name="N">Observations: seeds, or test images for a bootstrap.</param>
public readonly record struct Interval(double Mean, double Low, double High, int N)
{
    /// <summary>Whether the interval has finite ends.</summary>
    public bool Formed => double.IsFinite(Low) && double.IsFinite(High);

    /// <summary>The interval scaled by <paramref name="factor"/> (e.g. 100 for percent or points).</summary>
    public Interval Times(double factor) => new(Mean * factor, Low * factor, High * factor, N);
}

/// <summary>The three outcomes of a claim under the rule of <see cref="ExperimentStatistics.Decide"/>.</summary>
public enum Verdict
{
    /// <summary>The interval of the difference lies above zero.</summary>
    Held,

    /// <summary>The interval lies below zero.</summary>
    NotHeld,

    /// <summary>The interval contains zero or could not be formed.</summary>
    NotDistinguishable,
}

/// <summary>Confidence intervals and the claim rule.</summary>
public static class ExperimentStatistics
{
    /// <summary>Confidence level of every interval.</summary>
    public const double Level = 0.95;

    /// <summary>Resamples of the paired bootstrap.</summary>
    public const int BootstrapResamples = 2000;

    /// <summary>The bootstrap's fixed seed, so a report is reproduced exactly.</summary>
    public const int BootstrapSeed = 17;

    /// <summary>The mean of <paramref name="values"/> with its t interval (ends NaN for one value).</summary>
    /// <exception cref="ArgumentException">No values, or a value that is not finite.</exception>
    public static Interval Mean(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("A mean needs at least one value.", nameof(values));
        if (values.Any(v => !double.IsFinite(v))) throw new ArgumentException("Every value of a mean must be finite.", nameof(values));
        int n = values.Count;
        double mean = values.Average();
        if (n < 2) return new Interval(mean, double.NaN, double.NaN, n);
        double variance = values.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        double half = StudentT.InvCDF(0, 1, n - 1, 1 - (1 - Level) / 2) * Math.Sqrt(variance / n);
        return new Interval(mean, mean - half, mean + half, n);
    }

    /// <summary>The mean of the paired differences a[i] − b[i] (the same seed at index i) with its t interval.</summary>
    /// <exception cref="ArgumentException">The lists differ in length or are empty.</exception>
    public static Interval Paired(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"A paired comparison needs as many values on each side, got {a.Count} and {b.Count}.");
        return Mean(a.Select((x, i) => x - b[i]).ToArray());
    }

    /// <summary>
    /// The accuracy difference of two classifiers on the same images (<paramref name="a"/>[i], <paramref name="b"/>[i]: whether each
    /// got image i right) with a percentile bootstrap interval: <see cref="BootstrapResamples"/> resamples of the images with
    /// replacement, seeded by <paramref name="seed"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The lists differ in length or are empty.</exception>
    public static Interval PairedBootstrap(IReadOnlyList<bool> a, IReadOnlyList<bool> b, int seed = BootstrapSeed, int resamples = BootstrapResamples)
    {
        if (a.Count != b.Count) throw new ArgumentException($"A paired bootstrap needs the same images on each side, got {a.Count} and {b.Count}.");
        if (a.Count == 0) throw new ArgumentException("A paired bootstrap needs at least one image.");
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 100);
        int n = a.Count;
        // Per image the difference is -1, 0 or +1; only the images where the two disagree move the mean.
        var difference = new sbyte[n];
        for (int i = 0; i < n; i++) difference[i] = (sbyte)((a[i] ? 1 : 0) - (b[i] ? 1 : 0));
        double mean = difference.Sum(d => (double)d) / n;
        var random = new Random(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            long sum = 0;
            for (int i = 0; i < n; i++) sum += difference[random.Next(n)];
            means[r] = (double)sum / n;
        }
        Array.Sort(means);
        double tail = (1 - Level) / 2;
        return new Interval(mean, Quantile(means, tail), Quantile(means, 1 - tail), n);
    }

    /// <summary>The rule: held above zero, not held below zero, otherwise (or unformed) not distinguishable.</summary>
    public static Verdict Decide(Interval difference) =>
        !difference.Formed ? Verdict.NotDistinguishable
        : difference.Low > 0 ? Verdict.Held
        : difference.High < 0 ? Verdict.NotHeld
        : Verdict.NotDistinguishable;

    /// <summary>The verdict as the reports write it.</summary>
    public static string Words(Verdict verdict) => verdict switch
    {
        Verdict.Held => "held",
        Verdict.NotHeld => "not held",
        _ => "not distinguishable",
    };

    /// <summary>The rule as the reports state it.</summary>
    public const string Rule = "a claim is **held** when the 95% interval of its paired difference (claimed-better minus other) lies above 0, " +
                               "**not held** when it lies below 0, and **not distinguishable** when it contains 0 or cannot be formed (one seed)";

    /// <summary>Linear-interpolated quantile of sorted values.</summary>
    private static double Quantile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int low = (int)Math.Floor(position);
        int high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }
}
