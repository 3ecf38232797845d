// A manual pruning-rate schedule: p moves linearly from its first to its last value over the run
// (equal values: a fixed rate). It reports windows like GAS, so runs log and plot alike.

using System.Text.Json;

namespace IlgpuVit.Training;

/// <summary>A linear schedule of the pruning rate.</summary>
public sealed class ScheduledRate : RateAdjuster
{
    private readonly double _first, _last;
    private readonly int _totalSteps;

    /// <summary>p from <paramref name="first"/> to <paramref name="last"/> over <paramref name="totalSteps"/> steps, windows of <paramref name="windowSteps"/>.</summary>
    public ScheduledRate(double first, double last, int windowSteps, int totalSteps) : base(windowSteps) =>
        (_first, _last, _totalSteps) = (first, last, Math.Max(1, totalSteps));

    /// <inheritdoc/>
    public override double Rate => _first + (_last - _first) * Math.Min(1.0, (double)Tally.Steps / _totalSteps);

    /// <inheritdoc/>
    protected override (double Scale, double Signal) CloseWindow(double loss, double gradNorm) => (1, double.NaN);

    /// <inheritdoc/>
    public override string SaveState()
    {
        var t = Tally;
        return JsonSerializer.Serialize(new[] { t.Steps, t.InWindow, t.Windows, t.LossSum, t.NormSum });
    }

    /// <inheritdoc/>
    public override void RestoreState(string state)
    {
        try
        {
            var v = JsonSerializer.Deserialize<double[]>(state);
            if (v is not { Length: 5 }) throw new JsonException("expected five numbers");
            Tally = new WindowTally((int)v[0], (int)v[1], (int)v[2], v[3], v[4]);
        }
        catch (JsonException e)
        {
            throw new FormatException($"rate schedule state is malformed: {e.Message}", e);
        }
    }
}
