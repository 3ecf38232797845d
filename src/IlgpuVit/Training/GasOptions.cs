// Settings of Gradient-Aware Scaling (methods.md, "Pruning-rate adjustment"): a controller over one
// global pruning rate p, stepped once per window of optimizer steps from the window's mean loss and
// mean gradient norm. The defaults and the evidence behind them are in docs/results (issue 5).

namespace IlgpuVit.Training;

/// <summary>GAS controller settings.</summary>
public sealed record GasOptions
{
    /// <summary>Base step of p per window (eta).</summary>
    public double Eta { get; init; } = 0.01;

    /// <summary>Relative loss change that counts as falling (≤ −tol) or rising (≥ +tol).</summary>
    public double Tolerance { get; init; } = 0.01;

    /// <summary>A rising loss steps p down by backoff · eta · s.</summary>
    public double Backoff { get; init; } = 2;

    /// <summary>Lower clamp of the gradient scale s = Gref / Gw.</summary>
    public double ScaleMin { get; init; } = 0.5;

    /// <summary>Upper clamp of the gradient scale.</summary>
    public double ScaleMax { get; init; } = 2;

    /// <summary>Window length in epochs (methods.md: 1/10 of an epoch).</summary>
    public double WindowEpochs { get; init; } = 0.1;

    /// <summary>Windows at the start during which p stays at <see cref="RateStart"/> (the first also sets Gref).</summary>
    public int WarmupWindows { get; init; } = 1;

    /// <summary>Initial p.</summary>
    public double RateStart { get; init; }

    /// <summary>Smallest p.</summary>
    public double RateMin { get; init; }

    /// <summary>Largest p.</summary>
    public double RateMax { get; init; } = 0.3;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value is out of range (names which).</exception>
    public GasOptions Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new ArgumentException($"GAS options: {what}."); }
        Require(Eta > 0 && double.IsFinite(Eta), $"eta must be positive, got {Eta}");
        Require(Tolerance >= 0, $"tolerance must not be negative, got {Tolerance}");
        Require(Backoff >= 0, $"backoff must not be negative, got {Backoff}");
        Require(ScaleMin > 0 && ScaleMin <= ScaleMax, $"the scale clamp must satisfy 0 < min <= max, got [{ScaleMin}, {ScaleMax}]");
        Require(WindowEpochs > 0, $"the window must be positive, got {WindowEpochs} epochs");
        Require(WarmupWindows >= 1, $"warm-up windows must be at least 1 (the first sets the reference gradient norm), got {WarmupWindows}");
        Require(RateMin >= 0 && RateMin <= RateMax && RateMax < 1, $"rates must satisfy 0 <= min <= max < 1, got [{RateMin}, {RateMax}]");
        Require(RateStart >= RateMin && RateStart <= RateMax, $"the start rate must lie in [{RateMin}, {RateMax}], got {RateStart}");
        return this;
    }
}
