// One spelling for a reduction method and its rate, shared by the library and the CLI:
// "none", or "<method>:<rate>" with the rate in ReductionRate's spelling, e.g. "topk:rate=0.06",
// "tome:r=8", "evit:keep=0.7@3,6,9", "topk-vpa:rate=0.06,lambda=0.5..1,mode=host". Method options (lambda, mode, tau)
// sit among the rate's; the rest goes to ReductionRate.Parse. The parser lists the methods present.

namespace IlgpuVit.Reduction;

/// <summary>Parses method specs and fits their reducers to a model.</summary>
public static class ReductionMethod
{
    private static readonly Dictionary<string, Func<ReductionRate, Dictionary<string, string>, int, Nn.ITokenReducer>> Methods = new()
    {
        ["topk"] = (rate, options, _) => NoOptions("topk", options, new TopKReducer(rate)),
        ["topk-vpa"] = (rate, options, depth) =>
        {
            var (first, last) = Lambda(options);
            var mode = options.Remove("mode", out var m) ? Enum.Parse<Kernels.SizeMode>(m, ignoreCase: true) : Kernels.SizeMode.Host;
            return NoOptions("topk-vpa", options, new TopKVpaReducer(rate, first, last, mode, depth));
        },
        ["evit"] = (rate, options, _) => NoOptions("evit", options, new EvitReducer(rate)),
        ["etps"] = (rate, options, _) =>
        {
            float tau = options.Remove("tau", out var t) ? Number(t) : 1f;
            if (!(tau > 0f)) throw new ArgumentException($"tau must be positive, got {t}");
            return NoOptions("etps", options, new EtpsReducer(rate, tau));
        },
        ["tome"] = (rate, options, depth) =>
        {
            var (first, last) = Lambda(options);
            return NoOptions("tome", options, new TomeReducer(rate, first, last, depth));
        },
    };

    private static readonly string[] OptionNames = ["lambda", "mode", "tau"];

    /// <summary>The method names a spec may start with ("none" takes no rate).</summary>
    public static IReadOnlyList<string> Names => ["none", .. Methods.Keys];

    /// <summary>
    /// Sets every block's reducer of <paramref name="model"/> from <paramref name="spec"/> ("none" clears them).
    /// </summary>
    /// <exception cref="FormatException">The spec is malformed; the message lists the valid spellings.</exception>
    public static void Apply(Nn.VisionTransformer model, string spec)
    {
        var reducer = Parse(spec, model.Config.Depth);
        foreach (var block in model.Blocks) block.Reducer = reducer;
    }

    /// <summary>The reducer <paramref name="spec"/> names for a model of <paramref name="depth"/> blocks, or null for "none".</summary>
    /// <exception cref="FormatException">The spec is malformed; the message lists the valid spellings.</exception>
    public static Nn.ITokenReducer? Parse(string spec, int depth = 12)
    {
        string usage = $"Valid: none, or METHOD:RATE with METHOD one of {string.Join(", ", Methods.Keys)} and RATE rate=P, r=R or keep=K@layers " +
                       "(e.g. topk-vpa:rate=0.06, tome:r=8, evit:keep=0.7@3,6,9, etps:rate=0.1); options: lambda=L|L1..L2 (topk-vpa, tome), " +
                       "mode=host|attention|uniform (topk-vpa), tau=T (etps).";
        if (spec.Trim() == "none") return null;
        var parts = spec.Split(':', 2);
        if (parts.Length != 2 || !Methods.TryGetValue(parts[0].Trim(), out var make))
            throw new FormatException($"Unknown reduction method '{spec}'. {usage}");
        var items = parts[1].Split(',');
        var options = items.Select(i => i.Split('=', 2)).Where(kv => kv.Length == 2 && OptionNames.Contains(kv[0].Trim()))
            .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());
        var rate = string.Join(',', items.Where(i => !OptionNames.Contains(i.Split('=', 2)[0].Trim())));
        var parsed = ReductionRate.Parse(rate);     // names its own valid spellings
        try
        {
            return make(parsed, options, depth);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            throw new FormatException($"Bad reduction method '{spec}': {e.Message}. {usage}", e);
        }
    }

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
    /// <exception cref="FormatException">The method already names a rate, or is "none".</exception>
    public static string WithRate(string method, double rate)
    {
        if (HasRate(method) || method.Trim() == "none")
            throw new FormatException($"Cannot set a pruning rate on '{method}': give a bare method such as 'etps' or 'topk-vpa:lambda=0.5'.");
        var parts = method.Split(':', 2);
        string p = "rate=" + rate.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);
        return parts.Length == 2 && parts[1].Trim().Length > 0 ? $"{parts[0].Trim()}:{p},{parts[1].Trim()}" : $"{parts[0].Trim()}:{p}";
    }

    private static Nn.ITokenReducer NoOptions(string method, Dictionary<string, string> left, Nn.ITokenReducer reducer) =>
        left.Count == 0 ? reducer : throw new ArgumentException($"{method} takes no option {string.Join(", ", left.Keys)}");

    // λ of proportional attention: "lambda=L" or a ramp "lambda=L1..L2"; 1 when absent.
    private static (float First, float Last) Lambda(Dictionary<string, string> options)
    {
        if (!options.Remove("lambda", out var text)) return (1f, 1f);
        var ends = text.Split("..", 2);
        float first = Number(ends[0]);
        return (first, ends.Length == 2 ? Number(ends[1]) : first);
    }

    private static float Number(string text) =>
        float.Parse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);
}
