// Training stopped on a NaN or infinite loss or gradient norm, with its cause told apart, because the
// fixes differ: weights that were already non-finite when the step began (a model loaded or initialised
// with NaN/Inf, or made so by the previous update) are not cured by a lower learning rate on a rerun of
// the same file, while a loss that blew up from finite weights is a learning-rate or clipping problem.
using System.Globalization;
using IlgpuVit.IO;

namespace IlgpuVit.Training;

/// <summary>Training produced a NaN or infinite loss or gradient norm; the message says whether the weights were already non-finite.</summary>
/// <param name="step">The step that diverged (steps done, this one included).</param>
/// <param name="loss">Its mean loss.</param>
/// <param name="gradNorm">Its global gradient norm.</param>
/// <param name="nonFiniteWeight">A parameter that already held NaN or ±Inf before the step; null when every weight was finite.</param>
/// <param name="firstStepOfRun">
/// Whether the step was the first one this trainer ran: non-finite weights then came with the model (loaded or initialised),
/// otherwise from the previous step's update.
/// </param>
public sealed class TrainingDivergedException(int step, float loss, float gradNorm, NonFiniteTensor? nonFiniteWeight = null, bool firstStepOfRun = true)
    : Exception(Describe(step, loss, gradNorm, nonFiniteWeight, firstStepOfRun))
{
    /// <summary>The step that diverged.</summary>
    public int Step { get; } = step;

    /// <summary>The step's loss.</summary>
    public float Loss { get; } = loss;

    /// <summary>The step's gradient norm (before clipping).</summary>
    public float GradNorm { get; } = gradNorm;

    /// <summary>
    /// True when the model's weights held NaN or ±Inf before the step (<see cref="NonFiniteWeight"/> names one); false when
    /// they were finite and the loss blew up.
    /// </summary>
    public bool WeightsWereNonFinite => NonFiniteWeight is not null;

    /// <summary>The first parameter found with non-finite values before the step, or null.</summary>
    public NonFiniteTensor? NonFiniteWeight { get; } = nonFiniteWeight;

    private static string Describe(int step, float loss, float gradNorm, NonFiniteTensor? weight, bool firstStepOfRun)
    {
        string cause = weight is null
            ? $"the loss blew up at step {step} (loss {Number(loss)}, gradient norm {Number(gradNorm)}) though the weights were finite: " +
              "try a lower learning rate or gradient clipping."
            : firstStepOfRun
                ? $"the weights were already non-finite before step {step} ({weight}): the model was loaded or initialised with NaN/Inf values, " +
                  "not a learning-rate problem."
                : $"the weights became non-finite in the update of step {step - 1} ({weight}) though its loss and gradient norm were finite: " +
                  "try a lower learning rate.";
        return $"Training diverged at step {step}: {cause}";
    }

    private static string Number(float value) => float.IsFinite(value) ? value.ToString("G6", CultureInfo.InvariantCulture) : NonFiniteTensor.Describe(value);
}
