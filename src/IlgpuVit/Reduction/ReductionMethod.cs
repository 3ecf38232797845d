// The registry of reduction methods, one line each (a method's planner declares its name, options and
// factory beside itself), and the string entry points the CLI and older callers use: thin wrappers over
// ReductionSpec, which parses the spelling ("none", or METHOD:RATE[,options], e.g. "topk:rate=0.06",
// "tome:r=8", "evit:keep=0.7@3,6,9", "topk-vpa:rate=0.06,lambda=0.5..1,mode=host").

using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

/// <summary>The methods a spec may name, and specs applied to models by their spelling.</summary>
public static class ReductionMethod
{
    private static readonly MethodDefinition[] Registry =
    [
        TopKPlanner.Definition,
        TopKVpaPlanner.Definition,
        EvitPlanner.Definition,
        EtpsPlanner.Definition,
        TomePlanner.Definition,
    ];

    /// <summary>The registered methods, in registry order (tests and the device check run each of them).</summary>
    public static IReadOnlyList<string> Methods { get; } = Registry.Select(m => m.Name).ToArray();

    /// <summary>The method names a spec may start with ("none" takes no rate).</summary>
    public static IReadOnlyList<string> Names => ["none", .. Methods];

    /// <summary>
    /// Sets every block's reducer of <paramref name="model"/> from <paramref name="spec"/> ("none" clears them).
    /// </summary>
    /// <exception cref="FormatException">The spec is malformed; the message lists the valid spellings.</exception>
    public static void Apply(VisionTransformer model, string spec)
    {
        if (ReductionSpec.Parse(spec) is { } parsed) parsed.Apply(model);
        else foreach (var block in model.Blocks) block.Reducer = null;
    }

    /// <summary>The reducer <paramref name="spec"/> names for a model of <paramref name="depth"/> blocks, or null for "none".</summary>
    /// <exception cref="FormatException">The spec is malformed; the message lists the valid spellings.</exception>
    public static ITokenReducer? Parse(string spec, int depth) =>
        ReductionSpec.Parse(spec) is { } parsed ? new TokenReduction(parsed, depth) : null;

    /// <summary>Whether <paramref name="spec"/> carries a rate (rate=, r= or keep=) rather than just a method and its options.</summary>
    public static bool HasRate(string spec)
    {
        var parts = spec.Split(':', 2);
        return parts.Length == 2 && parts[1].Split(',').Any(item => item.Split('=', 2)[0].Trim() is "rate" or "r" or "keep");
    }

    /// <summary>
    /// The spec of <paramref name="method"/> (a bare method with optional options, e.g. "topk-vpa:lambda=0.5") at pruning
    /// rate <paramref name="rate"/>: "topk-vpa:rate=0.08,lambda=0.5".
    /// </summary>
    /// <exception cref="FormatException">The method already names a rate, is "none", or is malformed.</exception>
    public static string WithRate(string method, double rate) => ReductionSpec.ParseBare(method, rate).ToString();

    /// <summary>The method named <paramref name="name"/>, or null.</summary>
    internal static MethodDefinition? Find(string name) => Array.Find(Registry, m => m.Name == name);

    /// <summary>Every option key some method takes: the items of a spec that are options, not the rate's.</summary>
    internal static IReadOnlySet<string> OptionNames { get; } = Registry.SelectMany(m => m.Options).Select(o => o.Name).ToHashSet();

    /// <summary>The valid spellings, for error messages.</summary>
    internal static string Usage { get; } =
        $"Valid: none, or METHOD:RATE with METHOD one of {string.Join(", ", Registry.Select(m => m.Name))} and RATE rate=P, r=R or keep=K@layers " +
        "(e.g. topk-vpa:rate=0.06, tome:r=8, evit:keep=0.7@3,6,9, etps:rate=0.1); options: " +
        string.Join(", ", Registry.SelectMany(m => m.Options.Select(o => (o.Usage, Method: m.Name))).GroupBy(o => o.Usage)
            .Select(g => $"{g.Key} ({string.Join(", ", g.Select(o => o.Method))})")) + ".";
}
