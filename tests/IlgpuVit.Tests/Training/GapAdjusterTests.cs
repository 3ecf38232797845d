// The pruning-gap controller (docs/adjusters.md) on synthetic losses: one window's update (up while
// the gap is under tolerance, down above it, capped, clamped, unchanged without probes), the closed
// loop settling where the gap meets the tolerance from either side without being told that rate, the
// state round trip, the spelling and its bad options; and the trainer's probe: the same batch's loss
// without reduction, equal to the step's own loss when nothing is reduced.
using FluentAssertions;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public class GapAdjusterTests
{
    private static readonly GapOptions Options = new() { Tolerance = 0.02, Gain = 0.5, MaxStep = 0.02, ProbeEvery = 2, RateMax = 0.4 };

    /// <summary>One window of identical steps whose probes see <paramref name="pruned"/> against <paramref name="unpruned"/>.</summary>
    private static AdjusterWindow Window(RateAdjuster adjuster, double pruned, double unpruned)
    {
        AdjusterWindow? closed = null;
        for (int i = 0; i < adjuster.WindowSteps; i++)
            closed = adjuster.Observe((float)pruned, 1f, (i + 1) % adjuster.ProbeEvery == 0 ? (float)unpruned : null) ?? closed;
        return closed!;
    }

    [Fact]
    public void A_window_raises_the_rate_under_tolerance_and_lowers_it_above()
    {
        var gap = new GapAdjuster(Options, windowSteps: 4);
        var w = Window(gap, 1.00, 1.00);
        w.Signal.Should().Be(0);
        w.Rate.Should().BeApproximately(0.01, 1e-9, "gap 0: + gain (tol − 0) = 0.5 x 0.02");
        Window(gap, 1.01, 1.00).Rate.Should().BeApproximately(0.015, 1e-6, "gap 1%: + 0.5 x 0.01");
        Window(gap, 1.03, 1.00).Rate.Should().BeApproximately(0.010, 1e-6, "gap 3%: − 0.5 x 0.01");
        Window(gap, 1.50, 1.00).Rate.Should().BeApproximately(0, 1e-9, "gap 50%: the step is capped at 0.02, then p is clamped at pMin");
        gap.Observe(1f, 1f).Should().BeNull();
        gap.Observe(1f, 1f).Should().BeNull();
        gap.Observe(1f, 1f).Should().BeNull();
        var empty = gap.Observe(1f, 1f)!;
        (empty.Rate, double.IsNaN(empty.Signal)).Should().Be((0, true), "a window without probes leaves p");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.4)]
    public void The_closed_loop_settles_where_the_gap_meets_the_tolerance(double start)
    {
        // Pruning costs a relative gap of 0.25 p (plus batch noise): the gap meets 2% at p = 0.08, a rate the controller is never told.
        var gap = new GapAdjuster(Options with { RateStart = start }, windowSteps: 10);
        var random = new Random(1);
        for (int window = 0; window < 300; window++)
        {
            double unpruned = 0.6 + 0.05 * random.NextDouble();
            Window(gap, unpruned * (1 + 0.25 * gap.Rate + 0.004 * (random.NextDouble() - 0.5)), unpruned);
        }
        gap.Rate.Should().BeApproximately(0.08, 0.01);
    }

    [Fact]
    public void State_round_trips_mid_window()
    {
        var a = new GapAdjuster(Options, windowSteps: 4);
        Window(a, 1.0, 1.0);
        a.Observe(1.02f, 1f, 1f);
        var b = new GapAdjuster(Options, windowSteps: 4);
        b.RestoreState(a.SaveState());
        for (int i = 0; i < 3; i++) b.Observe(1.02f, 1f, i == 1 ? 1f : null).Should().BeEquivalentTo(a.Observe(1.02f, 1f, i == 1 ? 1f : null));
        b.Rate.Should().Be(a.Rate);
        var bad = () => b.RestoreState("[1,2]");
        bad.Should().Throw<FormatException>().WithMessage("Gap controller state is malformed*");
    }

    [Fact]
    public void The_spelling_and_its_options_are_checked()
    {
        var made = RateAdjuster.Create("gap", new GasOptions(), stepsPerEpoch: 100, totalSteps: 300, new GapOptions { WindowEpochs = 0.2 });
        made.Should().BeOfType<GapAdjuster>();
        (made!.WindowSteps, made.ProbeEvery).Should().Be((20, 5));
        var bad = () => new TrainingOptions { Method = "topk", Adjust = "gap", Gap = new GapOptions { Tolerance = 0 } }.Validate();
        bad.Should().Throw<ArgumentException>().WithMessage("Gap controller options: the tolerance must be positive, got 0.");
        var unknown = () => RateAdjuster.Create("gaps", new GasOptions(), 10, 40);
        unknown.Should().Throw<FormatException>().WithMessage("*gap (the pruning-gap controller)*");
    }

    [Fact]
    public void The_trainer_probes_the_same_batch_unpruned()
    {
        // Two blocks: a reduction in the last block alone never changes CLS (the MLP is per token), so the probe needs one before it.
        using var model = new VisionTransformer(TinyRun.Config with { Depth = 2 }, Backends.Cpu, 3);
        using var trainer = new Trainer(model, TinyRun.Data(), TinyRun.Options(), IlgpuVit.Data.Normalization.Identity(3));
        {
            trainer.ProbeEvery = 2;
            var plain = trainer.RunEpoch().Take(2).ToArray();
            plain[0].UnprunedLoss.Should().BeNull();
            plain[1].UnprunedLoss.Should().BeApproximately(plain[1].Loss, 1e-5f, "nothing is reduced: the probe is the step's own forward");
            ReductionMethod.Apply(model, "topk:rate=0.5");
            var pruned = trainer.RunEpoch().Take(2).ToArray();
            pruned[1].UnprunedLoss.Should().NotBeNull().And.NotBe(pruned[1].Loss);
            model.Reducers.Should().OnlyContain(r => r != null, "the probe restores the reducers");
        }
    }
}
