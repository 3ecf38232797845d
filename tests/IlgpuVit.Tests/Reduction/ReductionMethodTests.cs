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
        ReductionMethod.Parse("tome:r=8").Should().Be(new TomeReducer(new MergeCount(8)));
        ReductionMethod.Parse("tome:r=8,lambda=0", depth: 6).Should().Be(new TomeReducer(new MergeCount(8), 0f, 0f, 6));
        ReductionMethod.Parse("evit:keep=0.7@3,6,9").Should().BeOfType<EvitReducer>()
            .Which.Rate.Should().Be(new KeepSchedule(0.7, [3, 6, 9]));
        ReductionMethod.Parse("etps:rate=0.1").Should().Be(new EtpsReducer(new PruningRate(0.1)));
        ReductionMethod.Parse("etps:rate=0.1,tau=0.5").Should().Be(new EtpsReducer(new PruningRate(0.1), 0.5f));
        ReductionMethod.Names.Should().Equal("none", "topk", "topk-vpa", "evit", "etps", "tome");
    }

    [Theory]
    [InlineData("prune:r=8", "Unknown reduction method 'prune:r=8'. Valid: none, or METHOD:RATE with METHOD one of topk, topk-vpa, evit, etps, tome*")]
    [InlineData("topk", "Unknown reduction method 'topk'*")]
    [InlineData("topk:rate=2", "Bad reduction rate 'rate=2'*")]
    [InlineData("tome:rate=0.1,mode=host", "Bad reduction method 'tome:rate=0.1,mode=host': tome takes no option mode*")]
    [InlineData("etps:rate=0.1,tau=0", "Bad reduction method*tau must be positive*")]
    [InlineData("etps:rate=0.1,tau=x", "Bad reduction method*")]
    [InlineData("evit:r=4,lambda=1", "*evit takes no option lambda*")]
    public void Wrong_specs_list_the_valid_ones(string spec, string message)
    {
        var act = () => ReductionMethod.Parse(spec);
        act.Should().Throw<FormatException>().WithMessage(message);
    }
}
