// Float64 references the Top-K family's planner tests share: the selection by CLS attention that
// docs/methods.md defines (mean over heads of row 0, ties to the lower index, kept tokens in token order),
// and one reduction applied at the block seam to given tokens and attention probabilities.
using IlgpuVit.Autodiff;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;

namespace IlgpuVit.Tests.Reduction;

public static class TopKReference
{
    /// <summary>Top-K selection of one image in float64 terms: kept tokens (token order, CLS excluded) and dropped ones.</summary>
    public static (int[] Kept, int[] Dropped) Select(double[] scores, int keep)
    {
        var kept = Enumerable.Range(1, scores.Length).OrderByDescending(j => scores[j - 1]).ThenBy(j => j).Take(keep).Order().ToArray();
        return (kept, Enumerable.Range(1, scores.Length).Except(kept).ToArray());
    }

    public static double[] ClsScores(float[] p, int b, int heads, int t) =>
        Enumerable.Range(1, t - 1).Select(j => Enumerable.Range(0, heads).Average(h => (double)p[((b * heads + h) * t) * t + j])).ToArray();

    /// <summary>
    /// One reduction of block 0 on <paramref name="x"/> (B, T, C) with attention <paramref name="probabilities"/> (B, H, T, T),
    /// of which the reducer sees the CLS rows (B, H, 1, T) as a block hands them on; qkv is x (unused by these methods).
    /// </summary>
    public static Variable ReduceOnce(ITokenReducer reducer, Tape tape, Variable x, Tensor<float> probabilities, TokenState state)
    {
        var s = probabilities.Shape;
        var p = probabilities.ToArray();
        var rows = Enumerable.Range(0, s[0] * s[1]).SelectMany(z => p.AsSpan(z * s[2] * s[3], s[3]).ToArray()).ToArray();
        var cls = tape.Keep(Tensor<float>.FromArray(probabilities.Device, rows, s[0], s[1], 1, s[3]));
        return reducer.Reduce(tape, x, new ReductionContext(0, new AttentionOutput(x, x, s[1], cls), state));
    }
}
