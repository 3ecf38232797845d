// The options of one method spec (the "key=value" items after the rate whose key is some method's
// option), read by name as a planner is made. Reading an option removes it, so whatever is left was
// given to a method that does not take it.

using System.Globalization;

namespace IlgpuVit.Reduction;

/// <summary>The options a spec gave, by key.</summary>
public sealed class MethodOptions(Dictionary<string, string> given)
{
    /// <summary>Keys given and not read.</summary>
    public IReadOnlyCollection<string> Left => given.Keys;

    /// <summary>The text of option <paramref name="name"/>, removed from those left, or null when it was not given.</summary>
    public string? Take(string name) => given.Remove(name, out var text) ? text : null;

    /// <summary>λ of proportional attention ("lambda=L" or "lambda=L1..L2"); λ = 1 when not given.</summary>
    /// <exception cref="FormatException">A number is malformed.</exception>
    public LambdaSchedule Lambda() => Take("lambda") is { } text ? LambdaSchedule.Parse(text) : LambdaSchedule.One;

    /// <summary>A number as specs write it (invariant culture).</summary>
    /// <exception cref="FormatException">It is not a number.</exception>
    public static float Number(string text) => float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
}
