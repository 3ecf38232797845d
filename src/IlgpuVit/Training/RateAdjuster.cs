// Pruning-rate adjusters (docs/methods.md, "Pruning-rate adjustment"): a controller that sees every
// optimizer step's loss and gradient norm, closes a window every M steps, and sets the one global
// pruning rate p the reduction method uses (every block removes ceil(p (N − 1)) tokens). The window
// bookkeeping (steps, the open window's sums, windows closed) lives here for every adjuster; an
// adjuster only decides the rate when a window closes, from the window's mean loss and gradient norm.
// Every window is reported (and logged by the training run); the state round-trips through
// checkpoints as JSON so a resumed run continues the same trajectory.
//   gas            Gradient-Aware Scaling (GasAdjuster)
//   gap            the pruning-gap controller (GapAdjuster, docs/adjusters.md): every k steps the trainer also
//                  runs the step's batch unpruned (ProbeEvery), and the rate is held where the pruned loss
//                  exceeds the unpruned one by a tolerance
//   ramp:P0..P1    a manual schedule: p goes linearly from P0 to P1 over the run (ramp:P is fixed)

using System.Globalization;

namespace IlgpuVit.Training;

/// <summary>One closed window of an adjuster.</summary>
/// <param name="Window">Windows closed so far (from 1).</param>
/// <param name="Step">Optimizer steps done when it closed.</param>
/// <param name="Rate">p after the window's update.</param>
/// <param name="Loss">Mean training loss over the window.</param>
/// <param name="GradNorm">Mean global gradient norm over the window.</param>
/// <param name="Scale">GAS's gradient scale s (1 for a schedule and the gap controller).</param>
/// <param name="Signal">What the update acted on: GAS's relative loss change dL, the gap controller's relative pruning gap
/// (NaN when the window held no probe, and for a schedule).</param>
public sealed record AdjusterWindow(int Window, int Step, double Rate, double Loss, double GradNorm, double Scale, double Signal = double.NaN);

/// <summary>The window bookkeeping of an adjuster, saved with its state.</summary>
/// <param name="Steps">Optimizer steps seen.</param>
/// <param name="InWindow">Steps in the open window.</param>
/// <param name="Windows">Windows closed.</param>
/// <param name="LossSum">Sum of the open window's losses.</param>
/// <param name="NormSum">Sum of the open window's gradient norms.</param>
public readonly record struct WindowTally(int Steps, int InWindow, int Windows, double LossSum, double NormSum);

/// <summary>Sets the pruning rate during training.</summary>
public abstract class RateAdjuster
{
    /// <summary>An adjuster with windows of <paramref name="windowSteps"/> optimizer steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is shorter than one step.</exception>
    protected RateAdjuster(int windowSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSteps, 1);
        WindowSteps = windowSteps;
    }

    /// <summary>The current pruning rate p.</summary>
    public abstract double Rate { get; }

    /// <summary>Optimizer steps per window.</summary>
    public int WindowSteps { get; }

    /// <summary>The window bookkeeping so far (adjusters save and restore it with their own state).</summary>
    protected WindowTally Tally { get; set; }

    /// <summary>Steps between probes of the unpruned loss on the step's own batch (the trainer runs them; 0: the adjuster needs none).</summary>
    public virtual int ProbeEvery => 0;

    /// <summary>
    /// Feeds one optimizer step; returns the window it closed, if any (then <see cref="Rate"/> may have changed).
    /// <paramref name="unprunedLoss"/> is the same batch's loss without reduction, on the steps the trainer probed.
    /// </summary>
    public AdjusterWindow? Observe(float loss, float gradNorm, float? unprunedLoss = null)
    {
        if (unprunedLoss is { } unpruned) Probe(loss, unpruned);
        var t = Tally;
        t = t with { Steps = t.Steps + 1, InWindow = t.InWindow + 1, LossSum = t.LossSum + loss, NormSum = t.NormSum + gradNorm };
        if (t.InWindow < WindowSteps)
        {
            Tally = t;
            return null;
        }
        double meanLoss = t.LossSum / t.InWindow, meanNorm = t.NormSum / t.InWindow;
        Tally = t with { InWindow = 0, LossSum = 0, NormSum = 0, Windows = t.Windows + 1 };
        var (scale, signal) = CloseWindow(meanLoss, meanNorm);
        return new AdjusterWindow(Tally.Windows, Tally.Steps, Rate, meanLoss, meanNorm, scale, signal);
    }

    /// <summary>A probe: the step's pruned training loss and its batch's unpruned loss (adjusters that ask for probes override it).</summary>
    protected virtual void Probe(double pruned, double unpruned) { }

    /// <summary>
    /// Decides the rate when a window closes (<see cref="Tally"/> already counts it) from its mean
    /// <paramref name="loss"/> and mean <paramref name="gradNorm"/>; returns the gradient scale it used (1 for none) and the signal it acted on.
    /// </summary>
    protected abstract (double Scale, double Signal) CloseWindow(double loss, double gradNorm);

    /// <summary>The adjuster's state as JSON (checkpoints).</summary>
    public abstract string SaveState();

    /// <summary>Restores a state written by <see cref="SaveState"/>.</summary>
    /// <exception cref="FormatException">The state is malformed.</exception>
    public abstract void RestoreState(string state);

    /// <summary>
    /// The adjuster <paramref name="spec"/> names ("gas" or "ramp:P0..P1"; "none" gives null) for a run of
    /// <paramref name="totalSteps"/> steps with <paramref name="stepsPerEpoch"/> per epoch.
    /// </summary>
    /// <exception cref="FormatException">The spec is none of these; the message lists them.</exception>
    public static RateAdjuster? Create(string spec, GasOptions gas, int stepsPerEpoch, int totalSteps, GapOptions? gap = null)
    {
        const string Valid = "none, gas, gap (the pruning-gap controller), or ramp:P0..P1 (a linear schedule of the pruning rate; ramp:P keeps it fixed)";
        int window = Math.Max(1, (int)Math.Round(gas.WindowEpochs * stepsPerEpoch));
        spec = spec.Trim();
        if (spec == "none") return null;
        if (spec == "gas") return new GasAdjuster(gas.Validate(), window);
        if (spec == "gap")
        {
            gap = (gap ?? new GapOptions()).Validate();
            return new GapAdjuster(gap, Math.Max(1, (int)Math.Round(gap.WindowEpochs * stepsPerEpoch)));
        }
        if (spec.StartsWith("ramp:", StringComparison.Ordinal))
        {
            var ends = spec[5..].Split("..");
            if (ends.Length is 1 or 2 && ends.All(e => double.TryParse(e, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p >= 0 && p < 1))
            {
                double first = double.Parse(ends[0], CultureInfo.InvariantCulture);
                return new ScheduledRate(first, ends.Length == 2 ? double.Parse(ends[1], CultureInfo.InvariantCulture) : first, window, totalSteps);
            }
            throw new FormatException($"Bad rate schedule '{spec}': rates must lie in [0, 1). Valid: {Valid}.");
        }
        throw new FormatException($"Unknown rate adjuster '{spec}'. Valid: {Valid}.");
    }
}
