using FluentAssertions;
using IlgpuVit.Reduction;

namespace IlgpuVit.Tests.Reduction;

public class ReductionMethodTests
{
    [Fact]
    public void Specs_name_a_method_and_a_rate()
    {
        ReductionMethod.Parse("none").Should().BeNull();
        var topk = ReductionMethod.Parse("topk:rate=0.06").Should().BeOfType<TopKReducer>().Subject;
        topk.Rate.Should().Be(new PruningRate(0.06));
        ReductionMethod.Parse("topk:keep=0.7@3,6,9").Should().BeOfType<TopKReducer>()
            .Which.Rate.Should().Be(new KeepSchedule(0.7, [3, 6, 9]));
    }

    [Theory]
    [InlineData("tome:r=8", "Unknown reduction method 'tome:r=8'. Valid: none, or METHOD:RATE*with METHOD one of topk, topk-vpa*")]
    [InlineData("topk", "Unknown reduction method 'topk'*")]
    [InlineData("topk:rate=2", "Bad reduction rate 'rate=2'*")]
    public void Wrong_specs_list_the_valid_ones(string spec, string message)
    {
        var act = () => ReductionMethod.Parse(spec);
        act.Should().Throw<FormatException>().WithMessage(message);
    }
}
