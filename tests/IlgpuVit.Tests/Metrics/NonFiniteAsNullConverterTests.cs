// The shared JSON converter: NaN and ±Infinity (double, float, and their nullable forms) are written as
// null, finite numbers exactly as System.Text.Json writes them without it (float in its own shortest
// form), and null reads back as NaN.
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Metrics;

namespace IlgpuVit.Tests.Metrics;

public class NonFiniteAsNullConverterTests
{
    private static readonly JsonSerializerOptions Options = new() { Converters = { NonFiniteAsNullConverter.Instance } };

    private sealed record Numbers(double D, float F, double? N, float? M);

    [Theory]
    [InlineData(double.NaN, float.NaN)]
    [InlineData(double.PositiveInfinity, float.NegativeInfinity)]
    [InlineData(double.NegativeInfinity, float.PositiveInfinity)]
    public void Non_finite_numbers_are_written_as_null(double d, float f)
    {
        JsonSerializer.Serialize(new Numbers(d, f, d, f), Options).Should().Be("""{"D":null,"F":null,"N":null,"M":null}""");
        var act = () => JsonSerializer.Serialize(new Numbers(d, f, d, f));
        act.Should().Throw<ArgumentException>("without the converter System.Text.Json refuses them");
    }

    [Fact]
    public void Finite_numbers_are_written_as_without_the_converter()
    {
        var numbers = new Numbers(0.1, 0.1f, -2.5e-300, 3.4028235e38f);
        string json = JsonSerializer.Serialize(numbers, Options);
        json.Should().Be(JsonSerializer.Serialize(numbers)).And.Be("""{"D":0.1,"F":0.1,"N":-2.5E-300,"M":3.4028235E+38}""");
        JsonSerializer.Serialize(new Numbers(1, 1f, null, null), Options).Should().Be("""{"D":1,"F":1,"N":null,"M":null}""");
        JsonSerializer.Deserialize<Numbers>(json, Options).Should().Be(numbers);
    }

    [Fact]
    public void Null_reads_back_as_NaN_and_a_nullable_null_as_null()
    {
        var numbers = JsonSerializer.Deserialize<Numbers>("""{"D":null,"F":null,"N":null,"M":2}""", Options)!;
        double.IsNaN(numbers.D).Should().BeTrue();
        float.IsNaN(numbers.F).Should().BeTrue();
        numbers.N.Should().BeNull();
        numbers.M.Should().Be(2f);
    }
}
