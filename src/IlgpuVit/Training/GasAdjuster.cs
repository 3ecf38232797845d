// Gradient-Aware Scaling (methods.md): once per window of M steps,
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
    private GasState _state;

    /// <summary>A controller with <paramref name="options"/> and windows of <paramref name="windowSteps"/> steps.</summary>
    public GasAdjuster(GasOptions options, int windowSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSteps, 1);
        _options = options.Validate();
        WindowSteps = windowSteps;
        _state = new GasState { Rate = options.RateStart };
    }

    /// <inheritdoc/>
    public override double Rate => _state.Rate;

    /// <inheritdoc/>
    public override AdjusterWindow? Observe(float loss, float gradNorm)
    {
        var s = _state;
        s.Steps++;
        s.LossSum += loss;
        s.NormSum += gradNorm;
        if (++s.InWindow < WindowSteps) return null;
        double lw = s.LossSum / s.InWindow, gw = s.NormSum / s.InWindow;
        s.InWindow = 0;
        s.LossSum = s.NormSum = 0;
        s.Windows++;
        if (s.Windows == 1) s.ReferenceNorm = gw;
        double scale = Math.Clamp(s.ReferenceNorm / Math.Max(gw, 1e-12), _options.ScaleMin, _options.ScaleMax);
        if (s.Windows > _options.WarmupWindows && s.PreviousLoss > 0)
        {
            double change = (lw - s.PreviousLoss) / s.PreviousLoss;
            double step = change <= -_options.Tolerance ? _options.Eta * scale
                : change >= _options.Tolerance ? -_options.Backoff * _options.Eta * scale
                : 0.5 * _options.Eta * scale;
            s.Rate = Math.Clamp(s.Rate + step, _options.RateMin, _options.RateMax);
        }
        s.PreviousLoss = lw;
        return new AdjusterWindow(s.Windows, s.Steps, s.Rate, lw, gw, scale);
    }

    /// <inheritdoc/>
    public override string SaveState() => JsonSerializer.Serialize(_state);

    /// <inheritdoc/>
    public override void RestoreState(string state)
    {
        try
        {
            _state = JsonSerializer.Deserialize<GasState>(state) ?? throw new JsonException("null state");
        }
        catch (JsonException e)
        {
            throw new FormatException($"GAS state is malformed: {e.Message}", e);
        }
    }

    /// <summary>Everything the controller carries between steps, serialised into checkpoints.</summary>
    private sealed class GasState
    {
        public double Rate { get; set; }
        public double PreviousLoss { get; set; }
        public double ReferenceNorm { get; set; }
        public int Windows { get; set; }
        public int Steps { get; set; }
        public int InWindow { get; set; }
        public double LossSum { get; set; }
        public double NormSum { get; set; }
    }
}
