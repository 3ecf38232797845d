// Learning rate per optimizer step: linear warm-up from 0 to the base rate, then a half cosine down
// to the minimum at the last step (timm's CosineLRScheduler with warm-up, per step rather than per epoch).

namespace IlgpuVit.Training;

/// <summary>Linear warm-up, then cosine decay.</summary>
/// <param name="BaseLr">Peak learning rate, reached at the end of warm-up.</param>
/// <param name="WarmupSteps">Steps of linear warm-up.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="MinLr">Rate at the last step.</param>
public sealed record CosineSchedule(float BaseLr, int WarmupSteps, int TotalSteps, float MinLr = 0f)
{
    /// <summary>The rate for step <paramref name="step"/> (0-based: the rate the first update uses is At(0)).</summary>
    public float At(int step)
    {
        if (step < WarmupSteps) return BaseLr * (step + 1) / WarmupSteps;
        int decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        double t = Math.Min(1.0, (double)(step - WarmupSteps) / decaySteps);
        return (float)(MinLr + (BaseLr - MinLr) * 0.5 * (1 + Math.Cos(Math.PI * t)));
    }
}
