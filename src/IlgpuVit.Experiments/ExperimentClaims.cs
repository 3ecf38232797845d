// The paper's four claims (docs/methods.md, "The paper's claims") read off an experiment's rows: the
// comparisons the claims name, one line each, then a verdict per claim by the rule of
// ExperimentStatistics (docs/experiments-statistics.md): the 95% interval of the paired difference
// (claimed-better minus other) above 0 is "held", below 0 "not held", otherwise "not distinguishable".
// A claim compared at several points (configurations, rates) is held when held at one point at least
// and not held at none, not held in the mirror case, and not distinguishable otherwise. A claim whose
// rows are not in the experiment is left out.
//   1. An adjusted run against the same method's manual rates at the same FLOPs: the manual
//      accuracy is interpolated linearly in GMACs between the two manual points around the adjusted
//      run's GMACs (the unpruned run of the same seed is the manual curve's rate-0 end); outside the
//      manual range nothing is compared. Per method and adjuster, the differences of the seeds
//      (each paired: same seed, same starting checkpoint) give a t interval.
//   2. Top-K + VPA against Top-K at the same rate, inference only: per checkpoint and rate, a paired
//      bootstrap over the test images.
//   3. Top-K + VPA against ToMe at the same rate (the same token counts, so FLOPs within the methods'
//      own products), inference only, the largest reduction named; decided at large reduction only
//      (rates where both cut FLOPs by 40% or more; the largest rate when none does).
//   4. Latency change against FLOPs change for every reducing row (their ratio; 1 means latency
//      falls as much as FLOPs).

using System.Globalization;

namespace IlgpuVit.Experiments;

/// <summary>Writes the claims section of results.md.</summary>
internal static class ExperimentClaims
{
    /// <summary>Markdown lines, one bullet per comparison, under a heading; empty when no claim has its rows.</summary>
    public static IReadOnlyList<string> Lines(IReadOnlyList<ExperimentRow> rows)
    {
        var lines = new List<string>();
        Section(lines, "1. A rate adjuster against manual rates at the same FLOPs (trained)", AdjustedVersusManual(rows));
        Section(lines, "2. Top-K + VPA against Top-K at the same rate (inference only, no retraining)", SameRate(rows, "topk-vpa", "topk", largeOnly: false));
        Section(lines, "3. Top-K + VPA against ToMe at the same rate and FLOPs (inference only, no retraining)", SameRate(rows, "topk-vpa", "tome", largeOnly: true));
        Section(lines, "4. Latency change against FLOPs change (ratio 1: latency falls as much as FLOPs)", LatencyVersusFlops(rows));
        if (lines.Count == 0) return [];
        return ["## the paper's claims, compared (one line per comparison; accuracy in points)", "",
                $"Rule: {ExperimentStatistics.Rule}. Across several points a claim is held when held at one at least and not held at none, " +
                "not held in the mirror case, and not distinguishable otherwise. Intervals are 95%: t over seeds for trained runs, " +
                $"a paired bootstrap over test images ({ExperimentStatistics.BootstrapResamples} resamples, seed {ExperimentStatistics.BootstrapSeed}) for inference-only rows.", "", .. lines];
    }

    /// <summary>The verdict of a claim decided at several points (the rule at the top of this file).</summary>
    public static Verdict Combine(IReadOnlyCollection<Verdict> verdicts)
    {
        bool held = verdicts.Contains(Verdict.Held), notHeld = verdicts.Contains(Verdict.NotHeld);
        return held && !notHeld ? Verdict.Held : notHeld && !held ? Verdict.NotHeld : Verdict.NotDistinguishable;
    }

    private static string Verdicts(IReadOnlyCollection<Verdict> verdicts) =>
        $"**{ExperimentStatistics.Words(Combine(verdicts))}** (held at {verdicts.Count(v => v == Verdict.Held)}, not held at " +
        $"{verdicts.Count(v => v == Verdict.NotHeld)}, not distinguishable at {verdicts.Count(v => v == Verdict.NotDistinguishable)} of {verdicts.Count})";

    /// <summary>An interval in points: "+0.12 [-0.05, +0.29], n 3".</summary>
    public static string Points(Interval interval)
    {
        var p = interval.Times(100);
        return p.Formed ? $"{D(p.Mean)} [{D(p.Low)}, {D(p.High)}], n {p.N}" : $"{D(p.Mean)} (no interval, n {p.N})";
    }

    private static void Section(List<string> lines, string title, IReadOnlyList<string> bullets)
    {
        if (bullets.Count == 0) return;
        lines.Add($"**{title}**");
        lines.Add("");
        lines.AddRange(bullets.Select(b => $"- {b}"));
        lines.Add("");
    }

    private static IReadOnlyList<string> AdjustedVersusManual(IReadOnlyList<ExperimentRow> rows)
    {
        var trained = rows.Where(r => r.Kind == "train").ToArray();
        var bullets = new List<string>();
        var deltas = new Dictionary<(string Method, string Adjust), List<double>>();
        foreach (var run in trained.Where(r => r.Adjusted))
        {
            var manual = trained.Where(r => r.Seed == run.Seed && !r.Adjusted && (r.Method == run.Method || r.Method == "none"))
                .OrderBy(r => r.GmacsPerImage).ToArray();
            string head = $"{run.Method} + {run.Adjust} (seed {run.Seed}): {P(run.Accuracy)} at {G(run.GmacsPerImage)} GMACs ({C(run.FlopsChangePercent)} FLOPs, final rate {R(run.FinalRate)})";
            int above = Array.FindIndex(manual, r => r.GmacsPerImage >= run.GmacsPerImage);
            if (manual.Length < 2 || above <= 0 && !(above == 0 && manual[0].GmacsPerImage == run.GmacsPerImage))
            {
                string range = manual.Length == 0 ? "none" : $"{G(manual[0].GmacsPerImage)}..{G(manual[^1].GmacsPerImage)} GMACs";
                bullets.Add($"{head}; outside the manual points ({range}): not compared.");
                continue;
            }
            var (low, high) = above == 0 ? (manual[0], manual[0]) : (manual[above - 1], manual[above]);
            double t = high.GmacsPerImage == low.GmacsPerImage ? 0 : (run.GmacsPerImage - low.GmacsPerImage) / (high.GmacsPerImage - low.GmacsPerImage);
            double expected = low.Accuracy + t * (high.Accuracy - low.Accuracy);
            double delta = 100 * (run.Accuracy - expected);
            deltas.TryAdd((run.Method, run.Adjust), []);
            deltas[(run.Method, run.Adjust)].Add(run.Accuracy - expected);
            string where = t == 0 ? $"at {Label(low)}" : t == 1 ? $"at {Label(high)}" : $"between {Label(low)} and {Label(high)}";
            bullets.Add($"{head}; manual {run.Method} there: {P(expected)} ({where}): " +
                        $"{D(delta)} points, the adjusted run is {(delta > 0 ? "ahead" : delta < 0 ? "behind" : "level")}.");
        }
        var verdicts = new List<Verdict>();
        foreach (var ((method, adjust), values) in deltas)
        {
            var interval = ExperimentStatistics.Mean(values);
            var verdict = ExperimentStatistics.Decide(interval);
            verdicts.Add(verdict);
            bullets.Add($"{method} + {adjust} against manual {method} at the same GMACs, paired by seed: {Points(interval)} points: " +
                        $"{ExperimentStatistics.Words(verdict)}.");
        }
        if (verdicts.Count > 0) bullets.Add($"Verdict: {Verdicts(verdicts)}.");
        return bullets;
    }

    private static IReadOnlyList<string> SameRate(IReadOnlyList<ExperimentRow> rows, string method, string other, bool largeOnly)
    {
        var inferred = rows.Where(r => r.Kind == "inference").ToArray();
        var bullets = new List<string>();
        var verdicts = new List<Verdict>();
        foreach (var seed in inferred.Select(r => r.Seed).Distinct())
        {
            var pairs = inferred.Where(r => r.Seed == seed && r.Method == method)
                .Select(a => (A: a, B: inferred.FirstOrDefault(b => b.Seed == seed && b.Method == other && b.Rate == a.Rate)))
                .Where(p => p.B is not null).OrderBy(p => p.A.FinalRate).ToArray();
            if (pairs.Length == 0) continue;
            int ahead = pairs.Count(p => p.A.Accuracy > p.B!.Accuracy);
            string each = string.Join(", ", pairs.Select(p => $"rate {p.A.Rate}: {D(100 * (p.A.Accuracy - p.B!.Accuracy))}"));
            var (last, lastOther) = (pairs[^1].A, pairs[^1].B!);
            bullets.Add($"seed {seed}: {method} ahead of {other} at {ahead} of {pairs.Length} rates ({each} points); at the largest rate {last.Rate}: " +
                        $"{P(last.Accuracy)} ({C(last.FlopsChangePercent)} FLOPs) against {P(lastOther.Accuracy)} ({C(lastOther.FlopsChangePercent)} FLOPs).");
            var decided = pairs.Where(p => !largeOnly || Math.Max(p.A.FlopsChangePercent, p.B!.FlopsChangePercent) <= LargeReductionPercent).ToArray();
            if (decided.Length == 0) decided = [pairs[^1]];
            var tested = decided.Where(p => p.A.Correct is not null && p.B!.Correct is not null && p.A.Correct.Length == p.B.Correct.Length)
                .Select(p => (p.A.Rate, Interval: ExperimentStatistics.PairedBootstrap(ExperimentInferenceResult.Decode(p.A.Correct!),
                    ExperimentInferenceResult.Decode(p.B!.Correct!)))).ToArray();
            if (tested.Length == 0) continue;
            verdicts.AddRange(tested.Select(t => ExperimentStatistics.Decide(t.Interval)));
            bullets.Add($"seed {seed}, paired bootstrap over test images{(largeOnly ? $" (rates cutting FLOPs by {-LargeReductionPercent:F0}% or more)" : "")}: " +
                        string.Join("; ", tested.Select(t => $"rate {t.Rate}: {Points(t.Interval)} points, {ExperimentStatistics.Words(ExperimentStatistics.Decide(t.Interval))}")) + ".");
        }
        if (verdicts.Count > 0) bullets.Add($"Verdict: {Verdicts(verdicts)}.");
        return bullets;
    }

    /// <summary>The FLOPs change from which a reduction counts as large for claim 3, in percent.</summary>
    public const double LargeReductionPercent = -40;

    private static IReadOnlyList<string> LatencyVersusFlops(IReadOnlyList<ExperimentRow> rows)
    {
        var bullets = new List<string>();
        foreach (var kind in new[] { "train", "inference" })
        {
            var reducing = rows.Where(r => r.Kind == kind && r.FlopsChangePercent < 0).ToArray();
            if (reducing.Length == 0) continue;
            var ratios = reducing.Select(r => r.LatencyChangePercent / r.FlopsChangePercent).Order().ToArray();
            var deepest = reducing.MinBy(r => r.FlopsChangePercent)!;
            bullets.Add($"{(kind == "train" ? "trained runs" : "inference only")}: median ratio {F((ratios[(ratios.Length - 1) / 2] + ratios[ratios.Length / 2]) / 2, "F2")} over {reducing.Length} rows " +
                        $"(range {F(ratios[0], "F2")}..{F(ratios[^1], "F2")}); the largest cut, {deepest.Spec} ({deepest.Run}): {C(deepest.FlopsChangePercent)} FLOPs, " +
                        $"{C(deepest.LatencyChangePercent)} latency.");
        }
        return bullets;
    }

    private static string Label(ExperimentRow row) => row.Method == "none" ? "the unpruned run" : $"rate {row.Rate}";

    private static string P(double accuracy) => F(100 * accuracy, "F2") + "%";

    private static string G(double gmacs) => F(gmacs, "G4");

    private static string R(double rate) => F(rate, "0.####");

    private static string C(double percent) => F(percent, "+0.0;-0.0;0.0") + "%";

    private static string D(double points) => F(points, "+0.00;-0.00;0.00");

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
