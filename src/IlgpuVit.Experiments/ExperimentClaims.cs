// The paper's four claims (docs/methods.md, "The paper's claims") read off an experiment's rows, as the
// comparisons the claims name and nothing more: numbers and which side is ahead, no verdict on
// significance (one seed of a short run is noisy; the reader judges). A claim whose rows are not in
// the experiment is left out.
//   1. An adjusted run against the same method's manual rates at the same FLOPs: the manual
//      accuracy is interpolated linearly in GMACs between the two manual points around the adjusted
//      run's GMACs (the unpruned run of the same seed is the manual curve's rate-0 end); outside the
//      manual range nothing is compared.
//   2. Top-K + VPA against Top-K at the same rate, inference only.
//   3. Top-K + VPA against ToMe at the same rate (the same token counts, so FLOPs within the methods'
//      own products), inference only, the largest reduction named.
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
        Section(lines, "2. Top-K + VPA against Top-K at the same rate (inference only, no retraining)", SameRate(rows, "topk-vpa", "topk"));
        Section(lines, "3. Top-K + VPA against ToMe at the same rate and FLOPs (inference only, no retraining)", SameRate(rows, "topk-vpa", "tome"));
        Section(lines, "4. Latency change against FLOPs change (ratio 1: latency falls as much as FLOPs)", LatencyVersusFlops(rows));
        if (lines.Count == 0) return [];
        return ["## the paper's claims, compared (one line per comparison; accuracy in points, no significance test)", "", .. lines];
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
            string where = t == 0 ? $"at {Label(low)}" : t == 1 ? $"at {Label(high)}" : $"between {Label(low)} and {Label(high)}";
            bullets.Add($"{head}; manual {run.Method} there: {P(expected)} ({where}): " +
                        $"{D(delta)} points, the adjusted run is {(delta > 0 ? "ahead" : delta < 0 ? "behind" : "level")}.");
        }
        return bullets;
    }

    private static IReadOnlyList<string> SameRate(IReadOnlyList<ExperimentRow> rows, string method, string other)
    {
        var inferred = rows.Where(r => r.Kind == "inference").ToArray();
        var bullets = new List<string>();
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
        }
        return bullets;
    }

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
