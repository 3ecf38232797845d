// The spelling of reduction methods: specs parse once into typed values (planner with options, rate),
// spell themselves back as they parse, wrong spellings list the valid ones, and an adjuster's rate is
// held to the six decimals a checkpoint's spec records.
using FluentAssertions;
using IlgpuVit.Reduction;

namespace IlgpuVit.Tests.Reduction;

public class ReductionMethodTests
{
    [Fact]
    public void Specs_name_a_method_and_a_rate()
    {
        ReductionSpec.Parse("none").Should().BeNull();
        ReductionSpec.Parse("topk:rate=0.06").Should().Be(new ReductionSpec(new TopKPlanner(), new PruningRate(0.06)));
        ReductionSpec.Parse("topk:keep=0.7@3,6,9")!.Rate.Should().Be(new KeepSchedule(0.7, [3, 6, 9]));
        ReductionSpec.Parse("tome:r=8").Should().Be(new ReductionSpec(new TomePlanner(LambdaSchedule.One), new MergeCount(8)));
        ReductionSpec.Parse("tome:r=8,lambda=0").Should().Be(new ReductionSpec(new TomePlanner(new LambdaSchedule(0f, 0f)), new MergeCount(8)));
        ReductionSpec.Parse("evit:keep=0.7@3,6,9").Should().Be(new ReductionSpec(new EvitPlanner(), new KeepSchedule(0.7, [3, 6, 9])));
        ReductionSpec.Parse("etps:rate=0.1").Should().Be(new ReductionSpec(new EtpsPlanner(), new PruningRate(0.1)));
        ReductionSpec.Parse("etps:rate=0.1,tau=0.5").Should().Be(new ReductionSpec(new EtpsPlanner(0.5f), new PruningRate(0.1)));
        ReductionSpec.Parse("topk-vpa:rate=0.1,mode=uniform,lambda=0.5..1")
            .Should().Be(new ReductionSpec(new TopKVpaPlanner(new LambdaSchedule(0.5f, 1f), SizeMode.Uniform), new PruningRate(0.1)));
        ReductionMethod.Names.Should().Equal("none", "topk", "topk-vpa", "evit", "etps", "tome");
    }

    [Fact]
    public void A_reducer_is_fitted_to_the_models_depth()
    {
        ReductionMethod.Parse("none", depth: 6).Should().BeNull();
        var reduction = ReductionMethod.Parse("tome:r=8,lambda=0", depth: 6).Should().BeOfType<TokenReduction>().Subject;
        reduction.Depth.Should().Be(6);
        reduction.Spec.Should().Be(ReductionSpec.Parse("tome:r=8,lambda=0"));
    }

    [Theory]
    [InlineData("topk:rate=0.06")]
    [InlineData("topk:rate=0.1,round=floor,min=4")]
    [InlineData("topk-vpa:rate=0.06,lambda=0.5..1")]
    [InlineData("topk-vpa:rate=0.06,lambda=0,mode=attention")]
    [InlineData("tome:r=8")]
    [InlineData("tome:rate=0.1,lambda=0.5")]
    [InlineData("evit:keep=0.7@3,6,9")]
    [InlineData("etps:rate=0.1,tau=0.5")]
    [InlineData("etps:rate=0.1234567")]
    public void Specs_spell_themselves_as_they_parse(string spec)
    {
        var parsed = ReductionSpec.Parse(spec)!;
        parsed.ToString().Should().Be(spec);
        ReductionSpec.Parse(parsed.ToString()).Should().Be(parsed);
    }

    [Fact]
    public void Defaults_are_left_out_of_the_spelling()
    {
        ReductionSpec.Parse("tome:r=8,lambda=1")!.ToString().Should().Be("tome:r=8");
        ReductionSpec.Parse("topk-vpa:mode=host,rate=0.060,lambda=1..1")!.ToString().Should().Be("topk-vpa:rate=0.06");
        ReductionSpec.Parse("evit:keep=0.5")!.ToString().Should().Be("evit:keep=0.5@3,6,9");
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
        var act = () => ReductionSpec.Parse(spec);
        act.Should().Throw<FormatException>().WithMessage(message);
        var viaNames = () => ReductionMethod.Parse(spec, depth: 12);
        viaNames.Should().Throw<FormatException>().WithMessage(message);
    }

    [Fact]
    public void The_usage_lists_every_option_with_its_methods()
    {
        var act = () => ReductionSpec.Parse("prune:r=8");
        act.Should().Throw<FormatException>().WithMessage("*(e.g. topk-vpa:rate=0.06, tome:r=8, evit:keep=0.7@3,6,9, etps:rate=0.1); " +
            "options: lambda=L|L1..L2 (topk-vpa, tome), mode=host|attention|uniform (topk-vpa), tau=T (etps), cls=1|0 (tome).");
    }

    [Fact]
    public void An_adjusted_rate_is_held_to_the_six_decimals_of_its_spelling()
    {
        var spec = ReductionSpec.ParseBare("topk:round=floor", 0.1).WithPruningRate(0.123456789);
        spec.Rate.Should().Be(new PruningRate(0.123457, Rounding.Floor));
        spec.ToString().Should().Be("topk:rate=0.123457,round=floor");
        ReductionSpec.Parse(spec.ToString()).Should().Be(spec, "a checkpoint's spec prunes as the run did");
        ReductionSpec.ParseBare("etps:tau=0.5", 0.25).Should().Be(new ReductionSpec(new EtpsPlanner(0.5f), new PruningRate(0.25)));
        var act = () => ReductionSpec.ParseBare("topk-vpa:lambda=x", 0.1);
        act.Should().Throw<FormatException>().WithMessage("Bad reduction method 'topk-vpa:rate=0.1,lambda=x'*");
    }
}
