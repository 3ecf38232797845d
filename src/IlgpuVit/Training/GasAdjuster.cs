// Gradient-Aware Scaling (docs/methods.md): once per window of M steps,
//   Lw = mean loss, dL = (Lw − Lprev) / Lprev, Gw = mean gradient norm, s = clamp(Gref / Gw, sMin, sMax)
//   dL ≤ −tol: p += eta s (still converging: prune more);  dL ≥ +tol: p −= backoff eta s (prune less);
//   otherwise p += eta s / 2 (flat: probe upward gently);  p = clamp(p, pMin, pMax)
// with Gref the first window's Gw and p held at pStart through the warm-up windows. Small steps while
// gradients are large (early, unstable training), larger ones once they shrink.

using System.Text.Json;

namespace IlgpuVit.Training;

/// <summary>The GAS pruning-rate controller.</summary>
public sealed class GasAdjuster : RateAdjuster
{
    private readonly GasOptions _options;
    private double _rate, _previousLoss, _referenceNorm;

    /// <summary>A controller with <paramref name="options"/> and windows of <paramref name="windowSteps"/> steps.</summary>
    public GasAdjuster(GasOptions options, int windowSteps) : base(windowSteps)
    {
        _options = options.Validate();
        _rate = options.RateStart;
    }

    /// <inheritdoc/>
    public override double Rate => _rate;

    /// <inheritdoc/>
    protected override (double Scale, double Signal) CloseWindow(double loss, double gradNorm)
    {
        double signal = double.NaN;
        int windows = Tally.Windows;
        if (windows == 1) _referenceNorm = gradNorm;
        double scale = Math.Clamp(_referenceNorm / Math.Max(gradNorm, 1e-12), _options.ScaleMin, _options.ScaleMax);
        if (windows > _options.WarmupWindows && _previousLoss > 0)
        {
            double change = (loss - _previousLoss) / _previousLoss;
            signal = change;
            double step = change <= -_options.Tolerance ? _options.Eta * scale
                : change >= _options.Tolerance ? -_options.Backoff * _options.Eta * scale
                : 0.5 * _options.Eta * scale;
            _rate = Math.Clamp(_rate + step, _options.RateMin, _options.RateMax);
        }
        _previousLoss = loss;
        return (scale, signal);
    }

    /// <inheritdoc/>
    public override string SaveState()
    {
        var t = Tally;
        return JsonSerializer.Serialize(new GasState(_rate, _previousLoss, _referenceNorm, t.Windows, t.Steps, t.InWindow, t.LossSum, t.NormSum));
    }

    /// <inheritdoc/>
    public override void RestoreState(string state)
    {
        try
        {
            var s = JsonSerializer.Deserialize<GasState>(state) ?? throw new JsonException("null state");
            (_rate, _previousLoss, _referenceNorm) = (s.Rate, s.PreviousLoss, s.ReferenceNorm);
            Tally = new WindowTally(s.Steps, s.InWindow, s.Windows, s.LossSum, s.NormSum);
        }
        catch (JsonException e)
        {
            throw new FormatException($"GAS state is malformed: {e.Message}", e);
        }
    }

    /// <summary>What the controller carries between steps, as checkpoints store it.</summary>
    private sealed record GasState(double Rate, double PreviousLoss, double ReferenceNorm, int Windows, int Steps, int InWindow, double LossSum,
        double NormSum);
}
