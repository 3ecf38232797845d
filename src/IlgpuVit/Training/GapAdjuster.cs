// The pruning-gap controller (docs/adjusters.md): the rate is raised while pruning costs little and
// lowered when it costs much, where the cost is measured directly. Every k-th step the trainer runs the
// step's batch a second time without reduction (no gradients), so the step gives a pruned loss Lp and
// an unpruned loss Lu on the same images with the same weights. When a window closes:
//   g = (sum Lp − sum Lu) / sum Lu over the window's probes     (relative pruning gap)
//   p += clamp(gain (tol − g), −maxStep, +maxStep);  p = clamp(p, pMin, pMax)
// An integral controller: p settles where g(p) = tol, a rate it finds from the gap alone, never told a
// target rate or FLOPs budget. A window without probes leaves p as it is.

using System.Text.Json;

namespace IlgpuVit.Training;

/// <summary>Holds the relative pruning gap at a tolerance.</summary>
public sealed class GapAdjuster : RateAdjuster
{
    private readonly GapOptions _options;
    private double _rate, _prunedSum, _unprunedSum;
    private int _probes;

    /// <summary>A controller with <paramref name="options"/> and windows of <paramref name="windowSteps"/> steps.</summary>
    public GapAdjuster(GapOptions options, int windowSteps) : base(windowSteps)
    {
        _options = options.Validate();
        _rate = options.RateStart;
    }

    /// <inheritdoc/>
    public override double Rate => _rate;

    /// <inheritdoc/>
    public override int ProbeEvery => _options.ProbeEvery;

    /// <inheritdoc/>
    protected override void Probe(double pruned, double unpruned)
    {
        _prunedSum += pruned;
        _unprunedSum += unpruned;
        _probes++;
    }

    /// <inheritdoc/>
    protected override (double Scale, double Signal) CloseWindow(double loss, double gradNorm)
    {
        if (_probes == 0 || _unprunedSum <= 0) return (1, double.NaN);
        double gap = (_prunedSum - _unprunedSum) / _unprunedSum;
        double step = Math.Clamp(_options.Gain * (_options.Tolerance - gap), -_options.MaxStep, _options.MaxStep);
        _rate = Math.Clamp(_rate + step, _options.RateMin, _options.RateMax);
        (_prunedSum, _unprunedSum, _probes) = (0, 0, 0);
        return (1, gap);
    }

    /// <inheritdoc/>
    public override string SaveState()
    {
        var t = Tally;
        return JsonSerializer.Serialize(new GapState(_rate, _prunedSum, _unprunedSum, _probes, t.Windows, t.Steps, t.InWindow, t.LossSum, t.NormSum));
    }

    /// <inheritdoc/>
    public override void RestoreState(string state)
    {
        try
        {
            var s = JsonSerializer.Deserialize<GapState>(state) ?? throw new JsonException("null state");
            (_rate, _prunedSum, _unprunedSum, _probes) = (s.Rate, s.PrunedSum, s.UnprunedSum, s.Probes);
            Tally = new WindowTally(s.Steps, s.InWindow, s.Windows, s.LossSum, s.NormSum);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Gap controller state is malformed: {e.Message}", e);
        }
    }

    /// <summary>What the controller carries between steps, as checkpoints store it.</summary>
    private sealed record GapState(double Rate, double PrunedSum, double UnprunedSum, int Probes, int Windows, int Steps, int InWindow,
        double LossSum, double NormSum);
}
