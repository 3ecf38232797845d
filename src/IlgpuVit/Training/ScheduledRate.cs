// A manual pruning-rate schedule: p moves linearly from its first to its last value over the run
// (equal values: a fixed rate). It reports windows like GAS, so runs log and plot alike.

using System.Text.Json;

namespace IlgpuVit.Training;

/// <summary>A linear schedule of the pruning rate.</summary>
public sealed class ScheduledRate : RateAdjuster
{
    private readonly double _first, _last;
    private readonly int _totalSteps;
    private (int Steps, int InWindow, double LossSum, double NormSum, int Windows) _state;

    /// <summary>p from <paramref name="first"/> to <paramref name="last"/> over <paramref name="totalSteps"/> steps, windows of <paramref name="windowSteps"/>.</summary>
    public ScheduledRate(double first, double last, int windowSteps, int totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSteps, 1);
        (_first, _last, _totalSteps, WindowSteps) = (first, last, Math.Max(1, totalSteps), windowSteps);
    }

    /// <inheritdoc/>
    public override double Rate => _first + (_last - _first) * Math.Min(1.0, (double)_state.Steps / _totalSteps);

    /// <inheritdoc/>
    public override AdjusterWindow? Observe(float loss, float gradNorm)
    {
        _state.Steps++;
        _state.LossSum += loss;
        _state.NormSum += gradNorm;
        if (++_state.InWindow < WindowSteps) return null;
        var window = new AdjusterWindow(++_state.Windows, _state.Steps, Rate, _state.LossSum / _state.InWindow, _state.NormSum / _state.InWindow, 1);
        (_state.InWindow, _state.LossSum, _state.NormSum) = (0, 0, 0);
        return window;
    }

    /// <inheritdoc/>
    public override string SaveState() => JsonSerializer.Serialize(new[] { _state.Steps, _state.InWindow, _state.Windows, _state.LossSum, _state.NormSum });

    /// <inheritdoc/>
    public override void RestoreState(string state)
    {
        try
        {
            var v = JsonSerializer.Deserialize<double[]>(state);
            if (v is not { Length: 5 }) throw new JsonException("expected five numbers");
            _state = ((int)v[0], (int)v[1], v[3], v[4], (int)v[2]);
        }
        catch (JsonException e)
        {
            throw new FormatException($"rate schedule state is malformed: {e.Message}", e);
        }
    }
}
