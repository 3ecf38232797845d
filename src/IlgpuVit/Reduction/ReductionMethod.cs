// One spelling for a reduction method and its rate, shared by the library and the CLI:
// "none", or "<method>:<rate>" with the rate in ReductionRate's spelling, e.g. "topk:rate=0.06",
// "topk:keep=0.7@3,6,9". The methods of methods.md arrive one by one; the parser lists those present.

namespace IlgpuVit.Reduction;

/// <summary>Parses method specs and fits their reducers to a model.</summary>
public static class ReductionMethod
{
    private static readonly Dictionary<string, Func<ReductionRate, Nn.ITokenReducer>> Methods = new()
    {
        ["topk"] = rate => new TopKReducer(rate),
    };

    /// <summary>The method names a spec may start with ("none" takes no rate).</summary>
    public static IReadOnlyList<string> Names => ["none", .. Methods.Keys];

    /// <summary>
    /// Sets every block's reducer of <paramref name="model"/> from <paramref name="spec"/> ("none" clears them).
    /// </summary>
    /// <exception cref="FormatException">The spec is malformed; the message lists the valid spellings.</exception>
    public static void Apply(Nn.VisionTransformer model, string spec)
    {
        var reducer = Parse(spec);
        foreach (var block in model.Blocks) block.Reducer = reducer;
    }

    /// <summary>The reducer <paramref name="spec"/> names, or null for "none".</summary>
    /// <exception cref="FormatException">The spec is malformed; the message lists the valid spellings.</exception>
    public static Nn.ITokenReducer? Parse(string spec)
    {
        string usage = $"Valid: none, or METHOD:RATE with METHOD one of {string.Join(", ", Methods.Keys)} and RATE rate=P, r=R or keep=K@layers (e.g. topk:rate=0.06).";
        if (spec.Trim() == "none") return null;
        var parts = spec.Split(':', 2);
        if (parts.Length != 2 || !Methods.TryGetValue(parts[0].Trim(), out var make))
            throw new FormatException($"Unknown reduction method '{spec}'. {usage}");
        return make(ReductionRate.Parse(parts[1]));
    }
}
