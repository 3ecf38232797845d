// Settings of the pruning-gap controller (docs/adjusters.md): an integral controller that holds the
// relative pruning gap g = (L_pruned − L_unpruned) / L_unpruned, measured on the training batch of every
// k-th step, at a tolerance. The defaults: a 2% gap (the size of the accuracy gaps the claims compare,
// a few tenths of a point, costs about that much loss on Fashion-MNIST), windows of 1/10 epoch as GAS,
// a probe every 5 steps (about 9 per window at batch 128: the mean gap of a window is stable to a few
// tenths of a percent, and the unpruned forwards add about 7% to a step's time), and a gain of 0.5
// capped at 0.02 per window, so p can cross 0 to 0.3 in a fine-tuning run of 2 epochs.

namespace IlgpuVit.Training;

/// <summary>Pruning-gap controller settings.</summary>
public sealed record GapOptions : AdjusterOptions
{
    /// <summary>Settings at their defaults (pMax 0.4).</summary>
    public GapOptions() => RateMax = 0.4;

    /// <summary>The relative gap the controller holds the rate at.</summary>
    public double Tolerance { get; init; } = 0.02;

    /// <summary>Rate change per unit of (tolerance − gap) at each window.</summary>
    public double Gain { get; init; } = 0.5;

    /// <summary>Largest rate change in one window, up or down.</summary>
    public double MaxStep { get; init; } = 0.02;

    /// <summary>Optimizer steps between probes (the step's batch run again without reduction).</summary>
    public int ProbeEvery { get; init; } = 5;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value is out of range (names which).</exception>
    public GapOptions Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new ArgumentException($"Gap controller options: {what}."); }
        Require(Tolerance > 0 && double.IsFinite(Tolerance), $"the tolerance must be positive, got {Tolerance}");
        Require(Gain > 0 && double.IsFinite(Gain), $"the gain must be positive, got {Gain}");
        Require(MaxStep > 0 && MaxStep < 1, $"the largest step must lie in (0, 1), got {MaxStep}");
        Require(ProbeEvery >= 1, $"probes must come every 1 step or more, got {ProbeEvery}");
        ValidateWindowAndRates(Require);
        return this;
    }
}
