// JSON has no NaN or Infinity, and System.Text.Json throws on them by default: a diverged run's loss,
// or an evaluation of NaN weights, would crash the command that reports it. Every JSON output
// (metrics logs, run summaries, the CLI's --json) writes a non-finite double or float as null
// instead, and reads null back as NaN; finite numbers are written exactly as without the converter.
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IlgpuVit.Metrics;

/// <summary>Writes NaN and ±Infinity (double or float, nullable ones too) as JSON null; reads null as NaN.</summary>
/// <example><code>var options = new JsonSerializerOptions { Converters = { NonFiniteAsNullConverter.Instance } };</code></example>
public sealed class NonFiniteAsNullConverter : JsonConverterFactory
{
    /// <summary>The shared instance.</summary>
    public static readonly NonFiniteAsNullConverter Instance = new();

    /// <inheritdoc/>
    public override bool CanConvert(Type typeToConvert) => typeToConvert == typeof(double) || typeToConvert == typeof(float);

    /// <inheritdoc/>
    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        typeToConvert == typeof(double) ? new Number<double>() : new Number<float>();

    private sealed class Number<T> : JsonConverter<T> where T : struct, IFloatingPointIeee754<T>
    {
        // A non-nullable T still sees JSON null, to read it as NaN.
        public override bool HandleNull => true;

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null) return T.NaN;
            // float parses as float: through double it could round twice.
            return typeof(T) == typeof(float) ? T.CreateTruncating(reader.GetSingle()) : T.CreateTruncating(reader.GetDouble());
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
        {
            if (!T.IsFinite(value)) writer.WriteNullValue();
            else if (value is float single) writer.WriteNumberValue(single);     // float's own shortest form: 0.1f is 0.1, not 0.10000000149011612
            else writer.WriteNumberValue(double.CreateTruncating(value));
        }
    }
}
