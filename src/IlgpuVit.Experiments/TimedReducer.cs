// A token reducer that times another: it waits for the accelerator before and after the inner
// Reduce, so the shared stopwatch holds only the reduction's own work (scoring, selection, gather,
// merge). The waits perturb the forward, so `bench latency --profile` times it in separate runs.

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using System.Diagnostics;

namespace IlgpuVit.Experiments;

/// <summary>Wraps <paramref name="inner"/>, adding its wall time (device work included) to <paramref name="clock"/>.</summary>
internal sealed class TimedReducer(ITokenReducer inner, Device device, Stopwatch clock) : ITokenReducer
{
    /// <summary>The reducer being timed.</summary>
    public ITokenReducer Inner { get; } = inner;

    /// <inheritdoc/>
    public AttentionExtras Reads(int layer, int tokens) => Inner.Reads(layer, tokens);

    /// <inheritdoc/>
    public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
    {
        device.Synchronize();       // the attention before must not be billed to the reduction
        clock.Start();
        var reduced = Inner.Reduce(tape, x, context);
        device.Synchronize();
        clock.Stop();
        return reduced;
    }
}
