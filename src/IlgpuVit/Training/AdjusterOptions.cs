// What the automatic pruning-rate adjusters' settings share (GasOptions, GapOptions; docs/methods.md and
// docs/adjusters.md): the window every update closes, and the range p starts in and stays in.

namespace IlgpuVit.Training;

/// <summary>The window and rate range of an adjuster's settings.</summary>
public abstract record AdjusterOptions
{
    /// <summary>Window length in epochs (docs/methods.md: 1/10 of an epoch).</summary>
    public double WindowEpochs { get; init; } = 0.1;

    /// <summary>Initial p.</summary>
    public double RateStart { get; init; }

    /// <summary>Smallest p.</summary>
    public double RateMin { get; init; }

    /// <summary>Largest p (a bound of the method, not a target).</summary>
    public double RateMax { get; init; }

    /// <summary>Checks the window and the rates with <paramref name="require"/>, which throws naming the settings.</summary>
    protected void ValidateWindowAndRates(Action<bool, string> require)
    {
        require(WindowEpochs > 0, $"the window must be positive, got {WindowEpochs} epochs");
        require(RateMin >= 0 && RateMin <= RateMax && RateMax < 1, $"rates must satisfy 0 <= min <= max < 1, got [{RateMin}, {RateMax}]");
        require(RateStart >= RateMin && RateStart <= RateMax, $"the start rate must lie in [{RateMin}, {RateMax}], got {RateStart}");
    }
}
