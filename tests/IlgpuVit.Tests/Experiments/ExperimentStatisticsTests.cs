// The statistics of the harness on data whose answers are known: a t interval matches the textbook
// value and covers the true mean of normal samples at about its level; a paired interval cancels the
// noise both sides share; the paired bootstrap on synthetic images with a known accuracy difference
// contains it, is reproducible with its seed, and is degenerate when the two sides agree; the rule
// gives each of its three outcomes.

using FluentAssertions;
using IlgpuVit.Experiments;
using MathNet.Numerics.Distributions;

namespace IlgpuVit.Tests.Experiments;

public class ExperimentStatisticsTests
{
    [Fact]
    public void MeanIntervalIsTheTextbookTInterval()
    {
        // 1, 2, 3, 4, 5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.7764.
        var interval = ExperimentStatistics.Mean([1, 2, 3, 4, 5]);
        double half = 2.7764451051977987 * Math.Sqrt(2.5 / 5);
        interval.Mean.Should().Be(3);
        interval.Low.Should().BeApproximately(3 - half, 1e-9);
        interval.High.Should().BeApproximately(3 + half, 1e-9);
        interval.N.Should().Be(5);
    }

    [Fact]
    public void MeanIntervalCoversTheTrueMeanAtAboutItsLevel()
    {
        var normal = new Normal(0.86, 0.003, new Random(3));
        int covered = 0, trials = 2000;
        for (int t = 0; t < trials; t++)
        {
            var interval = ExperimentStatistics.Mean([normal.Sample(), normal.Sample(), normal.Sample()]);
            if (interval.Low <= 0.86 && 0.86 <= interval.High) covered++;
        }
        ((double)covered / trials).Should().BeInRange(0.93, 0.97);
    }

    [Fact]
    public void OneValueHasNoInterval()
    {
        var interval = ExperimentStatistics.Mean([0.5]);
        interval.Mean.Should().Be(0.5);
        interval.Formed.Should().BeFalse();
        ExperimentStatistics.Decide(interval).Should().Be(Verdict.NotDistinguishable);
    }

    [Fact]
    public void PairedIntervalCancelsSharedNoise()
    {
        // Seeds move both sides by up to a point; the paired difference is 0.2 points +- 0.01.
        double[] seedEffect = [0.01, -0.008, 0.004, -0.002];
        double[] b = seedEffect.Select(e => 0.85 + e).ToArray();
        double[] a = seedEffect.Select((e, i) => 0.852 + e + (i % 2 == 0 ? 1e-4 : -1e-4)).ToArray();
        var paired = ExperimentStatistics.Paired(a, b);
        paired.Mean.Should().BeApproximately(0.002, 1e-12);
        ExperimentStatistics.Decide(paired).Should().Be(Verdict.Held);
        var unpaired = ExperimentStatistics.Mean(a).Low - ExperimentStatistics.Mean(b).High;
        unpaired.Should().BeNegative("the separate intervals overlap: without pairing the difference is hidden");
    }

    [Fact]
    public void BootstrapContainsAKnownDifferenceAndIsReproducible()
    {
        // 10,000 images: b right on 80%, a right wherever b is and on a further 3% of the images.
        var random = new Random(5);
        var b = Enumerable.Range(0, 10_000).Select(_ => random.NextDouble() < 0.8).ToArray();
        var a = b.Select(right => right || random.NextDouble() < 0.15).ToArray();
        double truth = (a.Count(x => x) - b.Count(x => x)) / 10_000.0;
        var interval = ExperimentStatistics.PairedBootstrap(a, b);
        interval.Mean.Should().BeApproximately(truth, 1e-12);
        interval.Low.Should().BeLessThan(truth).And.BeGreaterThan(0);
        interval.High.Should().BeGreaterThan(truth);
        (interval.High - interval.Low).Should().BeLessThan(0.01);
        ExperimentStatistics.PairedBootstrap(a, b).Should().Be(interval, "the seed is fixed");
        ExperimentStatistics.Decide(interval).Should().Be(Verdict.Held);
        ExperimentStatistics.Decide(ExperimentStatistics.PairedBootstrap(b, a)).Should().Be(Verdict.NotHeld);
    }

    [Fact]
    public void BootstrapOfIdenticalSidesIsZero()
    {
        var same = Enumerable.Range(0, 500).Select(i => i % 3 == 0).ToArray();
        var interval = ExperimentStatistics.PairedBootstrap(same, same);
        (interval.Mean, interval.Low, interval.High).Should().Be((0.0, 0.0, 0.0));
        ExperimentStatistics.Decide(interval).Should().Be(Verdict.NotDistinguishable);
    }

    [Fact]
    public void RuleHasThreeOutcomes()
    {
        ExperimentStatistics.Decide(new Interval(0.5, 0.1, 0.9, 3)).Should().Be(Verdict.Held);
        ExperimentStatistics.Decide(new Interval(-0.5, -0.9, -0.1, 3)).Should().Be(Verdict.NotHeld);
        ExperimentStatistics.Decide(new Interval(0.1, -0.2, 0.4, 3)).Should().Be(Verdict.NotDistinguishable);
        ExperimentStatistics.Words(Verdict.NotDistinguishable).Should().Be("not distinguishable");
    }

    [Fact]
    public void BadInputsAreRefusedClearly()
    {
        var empty = () => ExperimentStatistics.Mean([]);
        empty.Should().Throw<ArgumentException>().WithMessage("*at least one value*");
        var nan = () => ExperimentStatistics.Mean([1, double.NaN]);
        nan.Should().Throw<ArgumentException>().WithMessage("*finite*");
        var uneven = () => ExperimentStatistics.Paired([1, 2], [1]);
        uneven.Should().Throw<ArgumentException>().WithMessage("*2 and 1*");
        var images = () => ExperimentStatistics.PairedBootstrap([true], [true, false]);
        images.Should().Throw<ArgumentException>().WithMessage("*same images*");
    }
}
