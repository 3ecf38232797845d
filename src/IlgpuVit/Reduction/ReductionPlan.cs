// What a planner decided for one block, in one of two forms that the applier (TokenReduction) carries out:
//   kept rows    y[b, m] = x[b, rows[b, m]]                          Top-K, VPA: a plan with unit weights, one
//                                                                    source per output row, run as a gather
//   token plan   y[b, m] = Σ_{t : dest[b, t] = m} w[b, t] x[b, t]     EViT, eTPS, ToMe (Ops.IndexPlan, CombineRows;
//                                                                    weights normalised per row on request)
// with the size rule: sizes the planner computed (VPA moves dropped sizes), else the applier's (kept rows
// take their sizes along, a token plan sums each row's sources). λ, when given, sets the key bias
// λ log(size) the next block's attention adds (proportional attention; λ = 0 clears it); without λ the
// key bias stays as it is. The plan's tensors pass to the applier, which hands them to the tape.

using IlgpuVit.Runtime;

namespace IlgpuVit.Reduction;

/// <summary>One block's token reduction, as a planner returns it.</summary>
public sealed record ReductionPlan
{
    /// <summary>Keeps every token and leaves sizes and key bias alone.</summary>
    public static ReductionPlan Unchanged { get; } = new();

    /// <summary>Keeps the rows <paramref name="rows"/> (B, M) of each image, in that order, each with weight 1.</summary>
    public static ReductionPlan Keep(Tensor<int> rows) => new() { Rows = rows };

    /// <summary>
    /// Sends token t of image b to output row <paramref name="destination"/>[b, t] in [0, <paramref name="outputs"/>)
    /// (or −1: dropped) with weight <paramref name="weight"/>[b, t], both (B, T); <paramref name="normalize"/> divides
    /// the weights of each output row by their sum.
    /// </summary>
    public static ReductionPlan Combine(Tensor<int> destination, Tensor<float> weight, int outputs, bool normalize) =>
        new() { Destination = destination, Weight = weight, Outputs = outputs, Normalize = normalize };

    /// <summary>(B, M): the kept rows, or null.</summary>
    public Tensor<int>? Rows { get; private init; }

    /// <summary>(B, T): each token's output row or −1, or null.</summary>
    public Tensor<int>? Destination { get; private init; }

    /// <summary>(B, T): each token's weight in its output row, with <see cref="Destination"/>.</summary>
    public Tensor<float>? Weight { get; private init; }

    /// <summary>Output rows of a token plan, M.</summary>
    public int Outputs { get; private init; }

    /// <summary>Whether a token plan's weights are normalised per output row (a weighted mean).</summary>
    public bool Normalize { get; private init; }

    /// <summary>A token plan's gather form when the planner built it (as Ops.IndexPlan does, weights normalised if asked); null leaves it to the applier.</summary>
    public PlanIndex? Index { get; init; }

    /// <summary>
    /// (B, M, C): the tokens already combined by this plan, when the planner did it alongside <see cref="Index"/> (cheaper
    /// than a launch of its own: ToMe on the CPU); null leaves it to the applier. Only read with <see cref="Index"/>.
    /// </summary>
    public Tensor<float>? Combined { get; init; }

    /// <summary>(B, M): the sizes of the output rows when the planner computed them; null leaves them to the applier.</summary>
    public Tensor<float>? Sizes { get; init; }

    /// <summary>λ of the next block's key bias λ log(size); null leaves the key bias as it is. A method that gives λ tracks sizes.</summary>
    public float? Lambda { get; init; }

    /// <summary>Multiply-accumulates per image of the planner's own products (similarities), counted by docs/flops.md.</summary>
    public double Macs { get; init; }
}

/// <summary>A token plan in gather form (Ops.IndexPlan's outputs), and the next block's key bias when the planner wrote it.</summary>
/// <param name="Offsets">(B, M + 1): where each output row's sources start in <paramref name="Sources"/>.</param>
/// <param name="Sources">(B, T): the tokens of each output row, in token order, row after row.</param>
/// <param name="Sizes">(B, M): each output row's size, the sum of its sources' sizes.</param>
/// <param name="KeyBias">(B, M): λ log(size) for the plan's λ, or null for the applier to compute.</param>
public sealed record PlanIndex(Tensor<int> Offsets, Tensor<int> Sources, Tensor<float> Sizes, Tensor<float>? KeyBias = null)
{
    /// <summary>
    /// Empty tensors for a plan of <paramref name="tokens"/> inputs and <paramref name="outputs"/> output rows per image,
    /// with room for the key bias when <paramref name="keyBias"/>.
    /// </summary>
    public static PlanIndex Empty(Device device, int batch, int tokens, int outputs, bool keyBias = false) => new(
        Tensor<int>.Empty(device, batch, outputs + 1), Tensor<int>.Empty(device, batch, tokens), Tensor<float>.Empty(device, batch, outputs),
        keyBias ? Tensor<float>.Empty(device, batch, outputs) : null);
}
