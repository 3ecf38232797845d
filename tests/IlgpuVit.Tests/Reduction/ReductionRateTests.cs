using FluentAssertions;
using IlgpuVit.Reduction;

namespace IlgpuVit.Tests.Reduction;

public class ReductionRateTests
{
    [Fact]
    public void Pruning_rate_removes_ceil_of_p_times_the_non_cls_tokens_and_keeps_a_minimum()
    {
        var rate = new PruningRate(0.06);
        rate.Removed(0, 197).Should().Be(12);             // ceil(0.06 * 196) = ceil(11.76)
        rate.Removed(0, 101).Should().Be(6);              // 0.06 * 100 is exactly 6 in decimal
        new PruningRate(0.9, MinTokens: 3).Removed(0, 5).Should().Be(1, "4 non-CLS tokens, at least 3 stay");
        new PruningRate(0).TokensAfterEachLayer(12, 197).Should().OnlyContain(t => t == 197);
    }

    [Fact]
    public void Tome_r_is_clamped_to_half_the_non_cls_tokens()
    {
        var r = new MergeCount(8);
        r.Removed(0, 197).Should().Be(8);
        r.Removed(0, 13).Should().Be(6);
        r.Removed(0, 2).Should().Be(0);
    }

    [Fact]
    public void Keep_schedules_reduce_only_in_their_layers()
    {
        var keep = (KeepSchedule)ReductionRate.Parse("keep=0.7@3,6,9");
        keep.TokensAfterEachLayer(12, 197).Should().Equal(197, 197, 197, 139, 139, 139, 98, 98, 98, 69, 69, 69);
        ReductionRate.Parse("keep=0.5").Should().Be(new KeepSchedule(0.5, [3, 6, 9]));
    }

    [Theory]
    [InlineData("rate=0.06", "PruningRate { Rate = 0.06, Rounding = Ceil, MinTokens = 1 }")]
    [InlineData("rate=0.1,round=floor,min=4", "PruningRate { Rate = 0.1, Rounding = Floor, MinTokens = 4 }")]
    [InlineData("r=8", "MergeCount { R = 8 }")]
    public void Spellings_parse(string text, string expected) => ReductionRate.Parse(text).ToString().Should().Be(expected);

    [Theory]
    [InlineData("rate=1.5", "*the pruning rate must lie in [0, 1), got 1.5*")]
    [InlineData("rate=0.1,round=up", "*Bad reduction rate 'rate=0.1,round=up'*")]
    [InlineData("r=-1", "*r must not be negative*")]
    [InlineData("keep=0", "*keep rate must lie in (0, 1]*")]
    [InlineData("p=0.1", "Bad reduction rate 'p=0.1'. Valid: rate=P*r=R*keep=K*")]
    public void Wrong_spellings_say_what_is_valid(string text, string message)
    {
        var act = () => ReductionRate.Parse(text);
        act.Should().Throw<FormatException>().WithMessage(message);
    }
}
