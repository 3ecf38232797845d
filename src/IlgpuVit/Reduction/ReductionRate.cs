// How many tokens a reduction method removes in each block (docs/methods.md, "Rate semantics"). A rate is
// data: it maps (layer, tokens present) to tokens removed, so the token count of every layer is known
// before the first forward (memory planning, FLOPs). CLS is never removed and never counted here.
//   rate=p            every layer removes ceil(p (N - 1)) non-CLS tokens (round / floor on request),
//                     never leaving fewer than minTokens non-CLS tokens      (the paper's pruning rate)
//   r=R               every layer removes R tokens, clamped to floor((N - 1) / 2)   (ToMe)
//   keep=k@3,6,9      only the listed layers (0-based) reduce, keeping ceil(k (N - 1)) non-CLS tokens
//                     (EViT, DynamicViT); default layers 3, 6, 9
// Parse reads these spellings and Spelling() writes them back.

using System.Globalization;

namespace IlgpuVit.Reduction;

/// <summary>How rates round: the paper's pruning rate uses ceil.</summary>
public enum Rounding
{
    /// <summary>Round up (the default).</summary>
    Ceil,
    /// <summary>Round to nearest, halves away from zero.</summary>
    Round,
    /// <summary>Round down.</summary>
    Floor,
}

/// <summary>Tokens a method removes per layer.</summary>
public abstract record ReductionRate
{
    /// <summary>Non-CLS tokens removed in block <paramref name="layer"/> when <paramref name="tokens"/> tokens (CLS included) are present.</summary>
    public abstract int Removed(int layer, int tokens);

    /// <summary>The rate as <see cref="Parse"/> reads it: "rate=0.06", "r=8", "keep=0.7@3,6,9".</summary>
    // A method, not a property: a record prints its properties, and tests read that print.
    public abstract string Spelling();

    /// <summary>
    /// Tokens (CLS included) present after each of <paramref name="depth"/> blocks, starting from
    /// <paramref name="tokens"/>; element l is what block l hands on.
    /// </summary>
    public int[] TokensAfterEachLayer(int depth, int tokens)
    {
        var counts = new int[depth];
        for (int l = 0; l < depth; l++) counts[l] = tokens -= Removed(l, tokens);
        return counts;
    }

    /// <summary>
    /// Parses "rate=P[,round=ceil|round|floor][,min=M]", "r=R" or "keep=K[@L1,L2,...]".
    /// </summary>
    /// <exception cref="FormatException">The text is none of these; the message lists them.</exception>
    public static ReductionRate Parse(string text)
    {
        const string Valid = "rate=P (e.g. rate=0.06, optionally ,round=ceil|round|floor and ,min=M), r=R (e.g. r=8) or keep=K[@layers] (e.g. keep=0.7@3,6,9)";
        var (key, value) = text.Split('=', 2) is [var k, var v] ? (k.Trim(), v.Trim()) : ("", "");
        try
        {
            switch (key)
            {
                case "rate":
                {
                    var parts = value.Split(',');
                    var rate = new PruningRate(Number(parts[0]));
                    foreach (var option in parts.Skip(1))
                    {
                        var (name, setting) = option.Split('=', 2) is [var a, var b] ? (a.Trim(), b.Trim()) : (option, "");
                        rate = name switch
                        {
                            "round" => rate with { Rounding = Enum.Parse<Rounding>(setting, ignoreCase: true) },
                            "min" => rate with { MinTokens = int.Parse(setting, CultureInfo.InvariantCulture) },
                            _ => throw new FormatException($"unknown option '{option}'"),
                        };
                    }
                    return rate.Validate();
                }
                case "r":
                    return new MergeCount(int.Parse(value, CultureInfo.InvariantCulture)).Validate();
                case "keep":
                {
                    var (keep, layers) = value.Split('@', 2) is [var a, var b] ? (a, b) : (value, null);
                    return new KeepSchedule(Number(keep), layers?.Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray()
                        ?? KeepSchedule.DefaultLayers).Validate();
                }
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            throw new FormatException($"Bad reduction rate '{text}': {e.Message}. Valid: {Valid}.", e);
        }
        throw new FormatException($"Bad reduction rate '{text}'. Valid: {Valid}.");

        static double Number(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}

/// <summary>The paper's pruning rate: every layer removes p of the non-CLS tokens present.</summary>
/// <param name="Rate">p in [0, 1).</param>
/// <param name="Rounding">How p (N − 1) becomes a count (ceil in the paper).</param>
/// <param name="MinTokens">Non-CLS tokens never pruned away (at least 1).</param>
public sealed record PruningRate(double Rate, Rounding Rounding = Rounding.Ceil, int MinTokens = 1) : ReductionRate
{
    /// <inheritdoc/>
    public override int Removed(int layer, int tokens)
    {
        double x = Rate * (tokens - 1);
        int removed = Rounding switch
        {
            Rounding.Ceil => (int)Math.Ceiling(x - 1e-9),      // 0.06 * 100 is 6.000000000000001 in binary
            Rounding.Floor => (int)Math.Floor(x + 1e-9),
            _ => (int)Math.Round(x, MidpointRounding.AwayFromZero),
        };
        return Math.Clamp(removed, 0, Math.Max(0, tokens - 1 - MinTokens));
    }

    /// <inheritdoc/>
    public override string Spelling() =>
        "rate=" + Digits(Rate) + (Rounding == Rounding.Ceil ? "" : ",round=" + Rounding.ToString().ToLowerInvariant())
        + (MinTokens == 1 ? "" : ",min=" + MinTokens.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// <paramref name="rate"/> as a spec holds it, to six decimals: an adjusted rate is stored in checkpoints as a spec, so
    /// the run, its checkpoint and an evaluation of it prune alike.
    /// </summary>
    public static double Spelled(double rate) => double.Parse(rate.ToString(SixDecimals, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private const string SixDecimals = "0.######";

    // Six decimals where they hold the rate exactly (every adjusted rate), else every digit it needs.
    private static string Digits(double rate) =>
        Spelled(rate) == rate ? rate.ToString(SixDecimals, CultureInfo.InvariantCulture) : rate.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">The rate is outside [0, 1) or MinTokens is below 1.</exception>
    public PruningRate Validate()
    {
        if (!(Rate >= 0 && Rate < 1)) throw new ArgumentException($"the pruning rate must lie in [0, 1), got {Rate}");
        if (MinTokens < 1) throw new ArgumentException($"min tokens must be at least 1, got {MinTokens}");
        return this;
    }
}

/// <summary>ToMe's schedule: every layer removes r tokens, at most half of the non-CLS tokens present.</summary>
/// <param name="R">Tokens merged away per layer (≥ 0).</param>
public sealed record MergeCount(int R) : ReductionRate
{
    /// <inheritdoc/>
    public override int Removed(int layer, int tokens) => Math.Min(R, (tokens - 1) / 2);

    /// <inheritdoc/>
    public override string Spelling() => "r=" + R.ToString(CultureInfo.InvariantCulture);

    /// <summary>Checks the value.</summary>
    /// <exception cref="ArgumentException">R is negative.</exception>
    public MergeCount Validate() => R >= 0 ? this : throw new ArgumentException($"r must not be negative, got {R}");
}

/// <summary>A location schedule: only the listed layers reduce, each keeping k of the non-CLS tokens present.</summary>
/// <param name="Keep">k in (0, 1].</param>
/// <param name="Layers">0-based layers that reduce.</param>
public sealed record KeepSchedule(double Keep, int[] Layers) : ReductionRate
{
    /// <summary>EViT's and DynamicViT's layers for 12-block models.</summary>
    public static readonly int[] DefaultLayers = [3, 6, 9];

    /// <inheritdoc/>
    public override int Removed(int layer, int tokens)
    {
        if (Array.IndexOf(Layers, layer) < 0) return 0;
        int kept = Math.Max(1, (int)Math.Ceiling(Keep * (tokens - 1) - 1e-9));
        return tokens - 1 - kept;
    }

    /// <inheritdoc/>
    public override string Spelling() =>
        "keep=" + Keep.ToString("R", CultureInfo.InvariantCulture) + "@" + string.Join(',', Layers.Select(l => l.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">k is outside (0, 1] or a layer is negative.</exception>
    public KeepSchedule Validate()
    {
        if (!(Keep > 0 && Keep <= 1)) throw new ArgumentException($"the keep rate must lie in (0, 1], got {Keep}");
        if (Layers.Any(l => l < 0)) throw new ArgumentException($"layers must not be negative, got {string.Join(",", Layers)}");
        return this;
    }

    /// <inheritdoc/>
    public bool Equals(KeepSchedule? other) => other is not null && Keep == other.Keep && Layers.SequenceEqual(other.Layers);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Keep, Layers.Length);
}
