// The claims section of results.md on hand-made rows whose answers are known: an adjusted run is
// compared with the manual accuracy interpolated at its GMACs (and not at all outside the manual
// points), Top-K + VPA with Top-K and ToMe rate by rate, and latency with FLOPs by their ratio.

using FluentAssertions;
using IlgpuVit.Experiments;

namespace IlgpuVit.Tests.Experiments;

public class ExperimentClaimsTests
{
    private static ExperimentRow Row(string kind, string method, string rate, double accuracy, double gmacs, double latencyChange = 0, string adjust = "none",
        double finalRate = 0) =>
        new(kind, kind == "inference" ? "none-s0" : $"{method}-{rate}-s0", method, rate, adjust, 0, method == "none" ? "none" : $"{method}:rate={rate}",
            accuracy, null, 0.5, gmacs, 100 * (gmacs - 1), 10, latencyChange, "cpu", finalRate, null, null);

    private static readonly ExperimentRow[] Rows =
    [
        Row("train", "none", "0", 0.80, 1.0),
        Row("train", "topk", "0.1", 0.78, 0.8, latencyChange: -10),
        Row("train", "topk", "0.3", 0.70, 0.6, latencyChange: -30),
        Row("train", "topk", "gas", 0.76, 0.7, latencyChange: -15, adjust: "gas", finalRate: 0.2),
        Row("train", "tome", "0.1", 0.79, 0.8, latencyChange: -5),
        Row("train", "etps", "0.1", 0.77, 0.8, latencyChange: -8),
        Row("train", "etps", "gas", 0.78, 0.8, latencyChange: -9, adjust: "gas", finalRate: 0.1),
        Row("train", "tome", "gas", 0.70, 0.5, latencyChange: -40, adjust: "gas", finalRate: 0.4),
        Row("inference", "topk", "0.1", 0.70, 0.8, latencyChange: -16),
        Row("inference", "topk", "0.2", 0.60, 0.7, latencyChange: -24),
        Row("inference", "topk-vpa", "0.1", 0.75, 0.8, latencyChange: -12),
        Row("inference", "topk-vpa", "0.2", 0.70, 0.7, latencyChange: -21),
        Row("inference", "tome", "0.1", 0.76, 0.8, latencyChange: -10),
        Row("inference", "tome", "0.2", 0.65, 0.7, latencyChange: -15),
    ];

    [Fact]
    public void An_adjusted_run_meets_the_manual_curve_interpolated_at_its_gmacs()
    {
        var text = string.Join("\n", ExperimentClaims.Lines(Rows));
        // Manual Top-K at 0.7 GMACs lies halfway between rate 0.3 (0.6, 70%) and rate 0.1 (0.8, 78%): 74%.
        text.Should().Contain("- topk + gas (seed 0): 76.00% at 0.7 GMACs (-30.0% FLOPs, final rate 0.2); manual topk there: 74.00% " +
                              "(between rate 0.3 and rate 0.1): +2.00 points, the adjusted run is ahead.");
        // ToMe's only manual point besides the unpruned run is at 0.8 GMACs: 0.5 is outside.
        // An adjusted run that ends on a manual point's token counts meets that point itself.
        text.Should().Contain("- etps + gas (seed 0): 78.00% at 0.8 GMACs (-20.0% FLOPs, final rate 0.1); manual etps there: 77.00% (at rate 0.1): +1.00 points");
        text.Should().Contain("- tome + gas (seed 0): 70.00% at 0.5 GMACs (-50.0% FLOPs, final rate 0.4); outside the manual points (0.8..1 GMACs): not compared.");
    }

    [Fact]
    public void Vpa_is_compared_with_topk_and_tome_rate_by_rate()
    {
        var text = string.Join("\n", ExperimentClaims.Lines(Rows));
        text.Should().Contain("- seed 0: topk-vpa ahead of topk at 2 of 2 rates (rate 0.1: +5.00, rate 0.2: +10.00 points)");
        text.Should().Contain("- seed 0: topk-vpa ahead of tome at 1 of 2 rates (rate 0.1: -1.00, rate 0.2: +5.00 points); at the largest rate 0.2: " +
                              "70.00% (-30.0% FLOPs) against 65.00% (-30.0% FLOPs).");
    }

    [Fact]
    public void Latency_is_set_against_flops_by_their_ratio()
    {
        var text = string.Join("\n", ExperimentClaims.Lines(Rows));
        // Trained ratios: 10/20, 30/40, 15/30, 5/20, 8/20, 9/20, 40/50 -> 0.25 0.4 0.45 0.5 0.5 0.75 0.8, median 0.5.
        text.Should().Contain("- trained runs: median ratio 0.50 over 7 rows (range 0.25..0.80); the largest cut, tome:rate=gas (tome-gas-s0): -50.0% FLOPs, -40.0% latency.");
        // Inference ratios: 0.8 0.8 0.6 0.7 0.5 0.5 -> sorted 0.5 0.5 0.6 0.7 0.8 0.8, median (0.6 + 0.7) / 2.
        text.Should().Contain("- inference only: median ratio 0.65 over 6 rows (range 0.50..0.80); the largest cut, topk:rate=0.2 (none-s0): -30.0% FLOPs, -24.0% latency.");
    }

    [Fact]
    public void Claims_without_their_rows_are_left_out()
    {
        ExperimentClaims.Lines([Rows[0]]).Should().BeEmpty();
        var text = string.Join("\n", ExperimentClaims.Lines(Rows[..3]));
        text.Should().Contain("**4.").And.NotContain("**1.").And.NotContain("**2.").And.NotContain("**3.");
    }

    [Fact]
    public void Adjusted_runs_are_decided_by_the_t_interval_of_their_seeds()
    {
        // Three seeds; the adjusted run sits 1.0, 1.2 and 0.8 points above the manual line: held. ToMe's sits -0.1, +0.1, 0: not distinguishable.
        var rows = new List<ExperimentRow>();
        foreach (var (seed, shift, tome) in new[] { (0, 0.010, -0.001), (1, 0.012, 0.001), (2, 0.008, 0.0) })
        {
            double noise = 0.003 * seed;
            rows.Add(Row("train", "none", "0", 0.80 + noise, 1.0) with { Seed = seed });
            rows.Add(Row("train", "topk", "0.3", 0.70 + noise, 0.6) with { Seed = seed });
            rows.Add(Row("train", "topk", "gas", 0.75 + noise + shift, 0.8, adjust: "gas", finalRate: 0.1) with { Seed = seed });
            rows.Add(Row("train", "tome", "0.3", 0.72 + noise, 0.6) with { Seed = seed });
            rows.Add(Row("train", "tome", "gas", 0.76 + noise + tome, 0.8, adjust: "gas", finalRate: 0.1) with { Seed = seed });
        }
        var text = string.Join("\n", ExperimentClaims.Lines(rows));
        text.Should().Contain("- topk + gas against manual topk at the same GMACs, paired by seed: +1.00 [+0.50, +1.50], n 3 points: held.");
        text.Should().MatchRegex(@"- tome \+ gas against manual tome at the same GMACs, paired by seed: [-+]?0\.00 \[-0\.25, \+0\.25\], n 3 points: not distinguishable\.");
        text.Should().Contain("- Verdict: **held** (held at 1, not held at 0, not distinguishable at 1 of 2).");
        var one = string.Join("\n", ExperimentClaims.Lines(Rows));
        one.Should().Contain("- Verdict: **not distinguishable** (held at 0, not held at 0, not distinguishable at 2 of 2).", "one seed forms no interval");
    }

    [Fact]
    public void Inference_claims_are_decided_by_the_paired_bootstrap()
    {
        // 2,000 images: VPA right on 1,700, Top-K on the same 1,700 but 100 (clearly behind); ToMe on the same as VPA but 2 images
        // (indistinguishable) at rate 0.1, and on 200 more than VPA at rate 0.3 (-45% FLOPs, the only large reduction).
        bool[] Flags(int right, int offset = 0) => Enumerable.Range(0, 2000).Select(i => (i + offset) % 2000 < right).ToArray();
        ExperimentRow Inferred(string method, string rate, double gmacs, bool[] correct) =>
            Row("inference", method, rate, correct.Count(c => c) / 2000.0, gmacs) with { Correct = ExperimentInferenceResult.Encode(correct) };
        ExperimentRow[] rows =
        [
            Inferred("topk-vpa", "0.1", 0.8, Flags(1700)), Inferred("topk", "0.1", 0.8, Flags(1600)), Inferred("tome", "0.1", 0.8, Flags(1698)),
            Inferred("topk-vpa", "0.3", 0.55, Flags(1500)), Inferred("topk", "0.3", 0.55, Flags(1400)), Inferred("tome", "0.3", 0.55, Flags(1700)),
        ];
        var text = string.Join("\n", ExperimentClaims.Lines(rows));
        text.Should().Contain("**2.").And.Contain("rate 0.1: +5.00 [");
        var claim3 = text[text.IndexOf("**3.", StringComparison.Ordinal)..text.IndexOf("**4.", StringComparison.Ordinal)];
        claim3.Should().Contain("(rates cutting FLOPs by 40% or more): rate 0.3: -10.00 [").And.NotContain("rate 0.1: -0.10 [");
        claim3.Should().Contain("- Verdict: **not held** (held at 0, not held at 1, not distinguishable at 0 of 1).");
        var claim2 = text[text.IndexOf("**2.", StringComparison.Ordinal)..text.IndexOf("**3.", StringComparison.Ordinal)];
        claim2.Should().Contain("- Verdict: **held** (held at 2, not held at 0, not distinguishable at 0 of 2).");
    }
}
