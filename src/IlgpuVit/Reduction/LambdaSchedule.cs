// λ of proportional attention, shared by the methods that use it (VPA, ToMe): attention in a block adds
// λ log(size_j) to every logit of key j (docs/methods.md, method 3; λ = 1 is ToMe's proportional attention,
// λ = 0 turns it off). λ is constant or a linear ramp over depth, spelled "lambda=L" or "lambda=L1..L2".

using System.Globalization;

namespace IlgpuVit.Reduction;

/// <summary>λ per block: <paramref name="First"/> in block 0 to <paramref name="Last"/> in the last block, linearly.</summary>
public readonly record struct LambdaSchedule(float First, float Last)
{
    /// <summary>λ = 1 in every block: ToMe's proportional attention, the default.</summary>
    public static LambdaSchedule One { get; } = new(1f, 1f);

    /// <summary>The option's spelling, for the usage line of specs.</summary>
    internal static MethodOption Option { get; } = new("lambda", "lambda=L|L1..L2");

    /// <summary>λ of block <paramref name="layer"/> of <paramref name="depth"/> (blocks past the last take the last's).</summary>
    public float At(int layer, int depth) =>
        depth <= 1 ? First : First + (Last - First) * Math.Min(layer, depth - 1) / (depth - 1);

    /// <summary>Parses "L" or "L1..L2".</summary>
    /// <exception cref="FormatException">A number is malformed.</exception>
    public static LambdaSchedule Parse(string text)
    {
        var ends = text.Split("..", 2);
        float first = MethodOptions.Number(ends[0]);
        return new(first, ends.Length == 2 ? MethodOptions.Number(ends[1]) : first);
    }

    /// <summary>"L" or "L1..L2".</summary>
    public override string ToString() => First == Last ? Spell(First) : $"{Spell(First)}..{Spell(Last)}";

    private static string Spell(float value) => value.ToString(CultureInfo.InvariantCulture);
}
