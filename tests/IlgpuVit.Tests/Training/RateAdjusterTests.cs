// The pruning-rate adjusters on synthetic losses: GAS's update rule step by step (falling, rising and
// flat windows, the gradient scale and its clamp, warm-up, rate clamps), closed-loop behaviour on a
// loss that punishes over-pruning, the linear schedule, state round trips, and the spellings.
using FluentAssertions;
using IlgpuVit.Reduction;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public class RateAdjusterTests
{
    private static readonly GasOptions Options = new() { Eta = 0.01, Tolerance = 0.01, Backoff = 2, ScaleMin = 0.5, ScaleMax = 2, WarmupWindows = 1, RateMax = 0.3 };

    /// <summary>Feeds one window of <paramref name="steps"/> identical steps and returns what closed it.</summary>
    private static AdjusterWindow Window(RateAdjuster adjuster, float loss, float norm)
    {
        AdjusterWindow? closed = null;
        for (int i = 0; i < adjuster.WindowSteps; i++) closed = adjuster.Observe(loss, norm) ?? closed;
        return closed!;
    }

    [Fact]
    public void Gas_follows_the_update_rule_of_methods_md()
    {
        var gas = new GasAdjuster(Options, windowSteps: 4);
        Window(gas, 2.0f, 1.0f).Rate.Should().Be(0, "the warm-up window only sets Gref");
        Window(gas, 1.8f, 1.0f).Rate.Should().BeApproximately(0.01, 1e-12, "falling 10%: + eta s with s = 1");
        Window(gas, 1.5f, 0.5f).Rate.Should().BeApproximately(0.03, 1e-12, "falling, gradients halved: s = 2");
        Window(gas, 1.5f, 0.25f).Rate.Should().BeApproximately(0.04, 1e-12, "flat: + eta s / 2 with s clamped to 2");
        var rising = Window(gas, 1.6f, 4f);
        rising.Scale.Should().Be(0.5, "Gref / Gw = 0.25 is clamped to sMin");
        rising.Rate.Should().BeApproximately(0.03, 1e-12, "rising: − backoff eta s");
        rising.Window.Should().Be(5);
        rising.Step.Should().Be(20);
        rising.Loss.Should().BeApproximately(1.6, 1e-6);
        for (int i = 0; i < 10; i++) Window(gas, 1.6f + 0.1f * (i + 1), 4f);
        gas.Rate.Should().Be(0, "p is clamped at pMin");
    }

    [Fact]
    public void Gas_window_means_are_over_its_steps()
    {
        var gas = new GasAdjuster(Options, windowSteps: 3);
        gas.Observe(1f, 1f).Should().BeNull();
        gas.Observe(2f, 2f).Should().BeNull();
        var w = gas.Observe(3f, 6f)!;
        w.Loss.Should().BeApproximately(2, 1e-12);
        w.GradNorm.Should().BeApproximately(3, 1e-12);
    }

    [Fact]
    public void Gas_settles_where_more_pruning_stops_the_loss_from_falling()
    {
        // A training loss that decays towards a floor which rises once p passes 0.12: GAS should climb while the loss
        // falls, then hover near the knee instead of running to pMax. The loss answers a rate change slowly (7% of the
        // gap per window), so tol must be below the per-window rise a step past the knee causes (here about 0.7%):
        // with tol = 1% the rise reads as flat and the upward probe runs p to pMax.
        var gas = new GasAdjuster(Options with { Eta = 0.005, Tolerance = 0.002 }, windowSteps: 10);
        double floor(double p) => 0.3 + 6 * Math.Max(0, p - 0.12);
        double loss = 2.3;
        var rates = new List<double>();
        for (int w = 0; w < 200; w++)
        {
            loss = floor(gas.Rate) + (loss - floor(gas.Rate)) * 0.93;
            rates.Add(Window(gas, (float)loss, (float)(0.5 + loss)).Rate);
        }
        rates.Max().Should().BeLessThan(0.3, "it never reaches pMax");
        rates.Skip(100).Average().Should().BeInRange(0.08, 0.18, "it hovers around the knee at 0.12");
    }

    [Fact]
    public void Gas_state_round_trips_mid_window()
    {
        var a = new GasAdjuster(Options, windowSteps: 5);
        var b = new GasAdjuster(Options, windowSteps: 5);
        var losses = Enumerable.Range(0, 37).Select(i => 2f - 0.03f * i + 0.05f * (i % 3)).ToArray();
        for (int i = 0; i < 23; i++) a.Observe(losses[i], 1f + i % 4);
        b.RestoreState(a.SaveState());
        for (int i = 23; i < 37; i++)
            b.Observe(losses[i], 1f + i % 4).Should().Be(a.Observe(losses[i], 1f + i % 4));
        b.Rate.Should().Be(a.Rate);
        var act = () => b.RestoreState("{not json");
        act.Should().Throw<FormatException>().WithMessage("GAS state is malformed*");
    }

    [Fact]
    public void A_schedule_ramps_linearly_and_a_fixed_one_stays()
    {
        var ramp = (ScheduledRate)RateAdjuster.Create("ramp:0..0.1", new GasOptions { WindowEpochs = 0.5 }, stepsPerEpoch: 10, totalSteps: 40)!;
        ramp.WindowSteps.Should().Be(5);
        for (int i = 0; i < 20; i++) ramp.Observe(1f, 1f);
        ramp.Rate.Should().BeApproximately(0.05, 1e-12);
        var copy = (ScheduledRate)RateAdjuster.Create("ramp:0..0.1", new GasOptions { WindowEpochs = 0.5 }, 10, 40)!;
        copy.RestoreState(ramp.SaveState());
        copy.Rate.Should().Be(ramp.Rate);
        for (int i = 0; i < 30; i++) ramp.Observe(1f, 1f);
        ramp.Rate.Should().Be(0.1, "it stops at the end value");
        var fixedRate = RateAdjuster.Create("ramp:0.07", new GasOptions(), 10, 40)!;
        for (int i = 0; i < 13; i++) fixedRate.Observe(1f, 1f);
        fixedRate.Rate.Should().Be(0.07);
        RateAdjuster.Create("none", new GasOptions(), 10, 40).Should().BeNull();
        RateAdjuster.Create("gas", new GasOptions(), 10, 40).Should().BeOfType<GasAdjuster>();
    }

    [Theory]
    [InlineData("gas2", "Unknown rate adjuster 'gas2'. Valid: none, gas, gap (the pruning-gap controller), or ramp:P0..P1*")]
    [InlineData("ramp:0..1.5", "Bad rate schedule 'ramp:0..1.5'*")]
    [InlineData("ramp:x", "Bad rate schedule*")]
    public void Wrong_adjusters_list_the_valid_ones(string spec, string message)
    {
        var act = () => RateAdjuster.Create(spec, new GasOptions(), 10, 40);
        act.Should().Throw<FormatException>().WithMessage(message);
    }

    [Fact]
    public void Options_name_what_does_not_fit()
    {
        new TrainingOptions { Method = "etps", Adjust = "gas" }.Validate();
        var noMethod = () => new TrainingOptions { Adjust = "gas" }.Validate();
        noMethod.Should().Throw<ArgumentException>().WithMessage("*adjust 'gas' needs a reduction method*");
        var ownRate = () => new TrainingOptions { Method = "tome:r=4", Adjust = "gas" }.Validate();
        ownRate.Should().Throw<ArgumentException>().WithMessage("*names no rate of its own*");
        var badGas = () => new TrainingOptions { Method = "etps", Adjust = "gas", Gas = new GasOptions { RateMax = 1.5 } }.Validate();
        badGas.Should().Throw<ArgumentException>().WithMessage("GAS options: rates must satisfy*");
    }

    [Fact]
    public void A_bare_method_takes_the_adjusted_rate()
    {
        ReductionMethod.WithRate("etps", 0.0875).Should().Be("etps:rate=0.0875");
        ReductionMethod.WithRate("topk-vpa:lambda=0.5,mode=uniform", 0.1).Should().Be("topk-vpa:rate=0.1,lambda=0.5,mode=uniform");
        ReductionSpec.Parse(ReductionMethod.WithRate("topk-vpa:lambda=0.5", 0.1))
            .Should().Be(new ReductionSpec(new TopKVpaPlanner(new LambdaSchedule(0.5f, 0.5f)), new PruningRate(0.1)));
        ReductionMethod.HasRate("tome:r=8").Should().BeTrue();
        ReductionMethod.HasRate("evit:keep=0.7@3").Should().BeTrue();
        ReductionMethod.HasRate("topk-vpa:lambda=1").Should().BeFalse();
        var act = () => ReductionMethod.WithRate("tome:r=8", 0.1);
        act.Should().Throw<FormatException>().WithMessage("Cannot set a pruning rate on 'tome:r=8'*");
    }
}
