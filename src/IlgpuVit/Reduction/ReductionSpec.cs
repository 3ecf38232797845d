// A reduction method as a typed value: its planner (method and options) and its rate. The user's
// spelling is parsed once, at the edge ("none", or METHOD:RATE[,options] with the rate in
// ReductionRate's spelling and the options of ReductionMethod's registry, e.g. "topk-vpa:rate=0.06,
// lambda=0.5..1", "tome:r=8", "evit:keep=0.7@3,6,9", "etps:rate=0.1,tau=0.5"); from then on a rate
// adjuster changes the rate of the applied reduction and ToString spells the spec again (what
// checkpoints record): the rate, then the options that differ from their defaults.

using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

/// <summary>A reduction method at a rate.</summary>
/// <param name="Planner">The method with its options.</param>
/// <param name="Rate">Tokens it removes per layer.</param>
public sealed record ReductionSpec(ITokenPlanner Planner, ReductionRate Rate)
{
    /// <summary>The method's name ("tome").</summary>
    public string Method => Planner.Name;

    /// <summary>Parses a spec; "none" gives null.</summary>
    /// <exception cref="FormatException">The spec is malformed; the message lists the valid spellings.</exception>
    /// <example><code>var spec = ReductionSpec.Parse("topk-vpa:rate=0.06,lambda=0.5..1");</code></example>
    public static ReductionSpec? Parse(string spec)
    {
        if (spec.Trim() == "none") return null;
        var parts = spec.Split(':', 2);
        var method = parts.Length == 2 ? ReductionMethod.Find(parts[0].Trim()) : null;
        if (method is null) throw new FormatException($"Unknown reduction method '{spec}'. {ReductionMethod.Usage}");
        // Items whose key is some method's option are options; the rest spell the rate.
        var items = parts[1].Split(',');
        var optionNames = ReductionMethod.OptionNames;
        var given = items.Select(i => i.Split('=', 2)).Where(kv => kv.Length == 2 && optionNames.Contains(kv[0].Trim()))
            .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());
        var rate = ReductionRate.Parse(string.Join(',', items.Where(i => !optionNames.Contains(i.Split('=', 2)[0].Trim()))));
        try
        {
            var options = new MethodOptions(given);
            var planner = method.Create(options);
            if (options.Left.Count > 0) throw new ArgumentException($"{method.Name} takes no option {string.Join(", ", options.Left)}");
            return new ReductionSpec(planner, rate);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            throw new FormatException($"Bad reduction method '{spec}': {e.Message}. {ReductionMethod.Usage}", e);
        }
    }

    /// <summary>
    /// Parses a bare method (METHOD[:options], e.g. "etps", "topk-vpa:lambda=0.5") whose pruning rate an adjuster sets,
    /// at pruning rate <paramref name="rate"/>. Options of the pruning rate (round=, min=) may come with it.
    /// </summary>
    /// <exception cref="FormatException">The method names a rate of its own, is "none", or is malformed (the message quotes it at the rate).</exception>
    public static ReductionSpec ParseBare(string method, double rate)
    {
        if (ReductionMethod.HasRate(method) || method.Trim() == "none")
            throw new FormatException($"Cannot set a pruning rate on '{method}': give a bare method such as 'etps' or 'topk-vpa:lambda=0.5'.");
        var parts = method.Split(':', 2);
        string p = new PruningRate(PruningRate.Spelled(rate)).Spelling();
        return Parse(parts.Length == 2 && parts[1].Trim().Length > 0 ? $"{parts[0].Trim()}:{p},{parts[1].Trim()}" : $"{parts[0].Trim()}:{p}")!;
    }

    /// <summary>
    /// This method at the paper's pruning rate <paramref name="rate"/>, held to six decimals as its spelling holds it
    /// (<see cref="PruningRate.Spelled"/>); a pruning rate keeps its rounding and minimum.
    /// </summary>
    /// <exception cref="ArgumentException">The rate is outside [0, 1).</exception>
    public ReductionSpec WithPruningRate(double rate)
    {
        double p = PruningRate.Spelled(rate);
        return this with { Rate = (Rate is PruningRate pruning ? pruning with { Rate = p } : new PruningRate(p)).Validate() };
    }

    /// <summary>Sets this method on every block of <paramref name="model"/>, at the model's depth, and returns it.</summary>
    public TokenReduction Apply(VisionTransformer model)
    {
        var reduction = new TokenReduction(this, model.Config.Depth);
        foreach (var block in model.Blocks) block.Reducer = reduction;
        return reduction;
    }

    /// <summary>The spec's spelling, which <see cref="Parse"/> reads back: "METHOD:RATE[,options]".</summary>
    public override string ToString() => $"{Planner.Name}:{string.Join(',', Planner.Options.Prepend(Rate.Spelling()))}";
}
