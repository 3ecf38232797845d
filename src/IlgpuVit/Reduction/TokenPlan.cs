// A token plan on the tape (Ops.IndexPlan / CombineRows): each method fills destination and weight,
// Apply indexes the plan, carries the sizes through it and combines the rows with gradients. The
// tensors live on the tape because the backward reads them.

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

internal sealed class TokenPlan
{
    private readonly int _outputs;

    /// <summary>Allocates a plan from <paramref name="tokens"/> to <paramref name="outputs"/> rows per image.</summary>
    public TokenPlan(Tape tape, Device device, int batch, int tokens, int outputs)
    {
        Destination = tape.Keep(Tensor<int>.Empty(device, batch, tokens));
        Weight = tape.Keep(Tensor<float>.Empty(device, batch, tokens));
        _outputs = outputs;
    }

    /// <summary>(B, T): each token's output row, or −1.</summary>
    public Tensor<int> Destination { get; }

    /// <summary>(B, T): each token's weight in its output row.</summary>
    public Tensor<float> Weight { get; }

    /// <summary>
    /// Combines <paramref name="x"/>'s rows by the plan (weights normalised per row when <paramref name="normalize"/>)
    /// and returns them with the summed sizes of their sources.
    /// </summary>
    public (Variable X, Tensor<float> Sizes) Apply(Tape tape, Variable x, Tensor<float> sizes, bool normalize)
    {
        var device = x.Device;
        int batch = x.Shape[0], tokens = x.Shape[1];
        var offsets = tape.Keep(Tensor<int>.Empty(device, batch, _outputs + 1));
        var sources = tape.Keep(Tensor<int>.Empty(device, batch, tokens));
        var newSizes = tape.Keep(Tensor<float>.Empty(device, batch, _outputs));
        Ops.IndexPlan(Destination, Weight, sizes, normalize, offsets, sources, newSizes);
        return (tape.CombineRows(x, Destination, Weight, offsets, sources), newSizes);
    }
}
