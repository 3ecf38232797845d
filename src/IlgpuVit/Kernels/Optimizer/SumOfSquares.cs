// Sum of squares of a tensor into one slot of a small result tensor: the trainer gathers the
// squared norms of every parameter gradient into one (P) tensor and reads it once per step (global
// norm for clipping, and the pruning-rate controller). Deterministic, without atomics: blocks of
// contiguous elements give partial sums, added in block order by PartialSums.cs. A tensor that fits
// one block (every bias, LayerNorm parameter and small weight on the CPU) takes a single launch
// that writes the slot directly; larger ones take two.
// Block size: CPU at least 16384 elements and at most 64 blocks (Vector512, four accumulators);
// GPUs 1024 elements per thread, so the second stage sums few partials.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>Elements per first-stage block on GPUs (see the file comment).</summary>
    internal const int SquaresGpuBlock = 1024;

    /// <summary>
    /// Writes the sum of squares of every element of <paramref name="x"/> into
    /// <paramref name="result"/>[<paramref name="slot"/>], result a (P) tensor; other slots are left
    /// alone. Deterministic.
    /// </summary>
    /// <exception cref="ShapeMismatchException">result is not one-dimensional.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slot"/> is outside result.</exception>
    public static void SumOfSquares(Tensor<float> x, Tensor<float> result, int slot)
    {
        const string op = "SumOfSquares";
        var device = OnOneDevice(op, x, result);
        ShapeMismatchException.Require(result.Shape.Rank == 1, op, $"result has shape {result.Shape}; it needs (P), one slot per tensor.");
        if (slot < 0 || slot >= result.Length)
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"{op}: slot {slot} is outside result of shape {result.Shape}.");
        int n = CheckedLength(op, x);
        int span = device.UsesCpuFastPath
            ? Math.Max(PartialMinElements, (n + PartialMaxBlocks - 1) / PartialMaxBlocks)
            : SquaresGpuBlock;
        int blocks = (n + span - 1) / span;
        var target = result.View.SubView(slot, 1);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int>(SumOfSquaresKernel, group));
        if (blocks == 1)
        {
            launch(device.Accelerator.DefaultStream, 1, x.View, target, n, span);
            return;
        }
        using var partials = Tensor<float>.Empty(device, blocks);
        launch(device.Accelerator.DefaultStream, blocks, x.View, partials.View, n, span);
        SumPartials(device, partials.View, blocks, 1, target, target, 1, accumulate: false);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SumOfSquaresKernel(Index1D block, ArrayView<float> x, ArrayView<float> partials, int n, int span)
    {
        int start = block * span;
        partials[block] = SquaresOf(x, start, Math.Min(span, n - start));
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(SquaresOfPortable))]
    internal static unsafe float SquaresOf(ArrayView<float> x, int start, int count)
    {
        float* xs = FastMath.Address(x, start);
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int j = 0;
        for (; j + 64 <= count; j += 64)
        {
            var a = Vector512.Load(xs + j);
            var b = Vector512.Load(xs + j + 16);
            var c = Vector512.Load(xs + j + 32);
            var d = Vector512.Load(xs + j + 48);
            s0 = Vector512.FusedMultiplyAdd(a, a, s0);
            s1 = Vector512.FusedMultiplyAdd(b, b, s1);
            s2 = Vector512.FusedMultiplyAdd(c, c, s2);
            s3 = Vector512.FusedMultiplyAdd(d, d, s3);
        }
        for (; j + 16 <= count; j += 16)
        {
            var a = Vector512.Load(xs + j);
            s0 = Vector512.FusedMultiplyAdd(a, a, s0);
        }
        float sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        for (; j < count; j++) sum += xs[j] * xs[j];
        return sum;
    }

    internal static float SquaresOfPortable(ArrayView<float> x, int start, int count)
    {
        float sum = 0f;
        for (int j = start; j < start + count; j++) sum += x[j] * x[j];
        return sum;
    }
}
