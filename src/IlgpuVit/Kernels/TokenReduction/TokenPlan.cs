// Token plans: the data movement shared by the merge methods (EViT's fused token, eTPS's squeeze,
// ToMe's merge). A plan sends every input token t of image b to one output row dest[b, t] (or -1:
// dropped) with a weight w[b, t]:
//   y[b, m, :] = Σ_{t : dest[b, t] = m} w[b, t] x[b, t, :]                       (CombineRows)
//   dx[b, t, :] = w[b, t] dy[b, dest[b, t], :], 0 for a dropped token    (its backward: a weighted GatherRows)
// The weights are constants for autodiff: the selection is not differentiated (docs/methods.md).
// IndexPlan turns dest into gather form (per output row its sources, in token order: a counting sort,
// one kernel index per image, O(T)), so the forward needs no atomics and adds in the same order on
// every backend. It also sums the sizes of each row's sources (sizes are conserved) and can
// normalise each row's weights to sum 1: ToMe's size-weighted average, eTPS's squeeze.
// Each CombineRows index covers `span` channels of a block of output rows: whole rows on the CPU,
// one channel of one row on GPUs (as GatherRows).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Indexes a token plan. <paramref name="destination"/> (B, T) holds each token's output row in [0, M) or
    /// −1; <paramref name="offsets"/> (B, M + 1) and <paramref name="sources"/> (B, T) receive, for each output row m,
    /// its source tokens sources[b, offsets[b, m] .. offsets[b, m + 1]) in increasing order;
    /// <paramref name="newSizes"/> (B, M) receives the sum of the sources' <paramref name="sizes"/> (B, T).
    /// With <paramref name="normalize"/>, <paramref name="weight"/> (B, T) is divided in place by the sum of the
    /// weights of its output row (a row whose weights sum to 0 is left as it is).
    /// A destination outside [−1, M) is not checked on the host; the token is treated as dropped.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit together.</exception>
    public static void IndexPlan(Tensor<int> destination, Tensor<float> weight, Tensor<float> sizes, bool normalize,
        Tensor<int> offsets, Tensor<int> sources, Tensor<float> newSizes)
    {
        OnOneDevice("IndexPlan", destination, weight, sizes, offsets, sources, newSizes);
        ShapeMismatchException.Require(destination.Shape.Rank == 2 && newSizes.Shape.Rank == 2 && newSizes.Shape[0] == destination.Shape[0],
            "IndexPlan", $"destination has shape {destination.Shape} and new sizes {newSizes.Shape}; they need (B, T) and (B, M).");
        int b = destination.Shape[0], t = destination.Shape[1], m = newSizes.Shape[1];
        foreach (var (name, shape) in new[] { ("weight", weight.Shape), ("sizes", sizes.Shape), ("sources", sources.Shape) })
            ShapeMismatchException.ThrowIfDifferent("IndexPlan", name, destination.Shape, shape);
        ShapeMismatchException.ThrowIfDifferent("IndexPlan", "offsets", new Shape(b, m + 1), offsets.Shape);
        var launch = weight.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int, int, int>(
            IndexPlanKernel, group));
        launch(weight.Device.Accelerator.DefaultStream, b, destination.View, weight.View, sizes.View, offsets.View, sources.View, newSizes.View,
            t, m, normalize ? 1 : 0);
    }

    /// <summary>
    /// Applies an indexed plan: y[b, m, :] = Σ w[b, s] x[b, s, :] over the sources s of output row m, for
    /// <paramref name="x"/> (B, T, C), <paramref name="offsets"/> (B, M + 1), <paramref name="sources"/> (B, T),
    /// <paramref name="weight"/> (B, T) and <paramref name="y"/> (B, M, C). A row without sources is zero.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit together.</exception>
    public static void CombineRows(Tensor<float> x, Tensor<int> offsets, Tensor<int> sources, Tensor<float> weight, Tensor<float> y)
    {
        OnOneDevice("CombineRows", x, offsets, sources, weight, y);
        ShapeMismatchException.Require(x.Shape.Rank == 3 && offsets.Shape.Rank == 2 && offsets.Shape[0] == x.Shape[0], "CombineRows",
            $"x has shape {x.Shape} and offsets {offsets.Shape}; they need (B, T, C) and (B, M + 1).");
        int b = x.Shape[0], t = x.Shape[1], c = x.Shape[2], m = offsets.Shape[1] - 1;
        ShapeMismatchException.ThrowIfDifferent("CombineRows", "sources", new Shape(b, t), sources.Shape);
        ShapeMismatchException.ThrowIfDifferent("CombineRows", "weight", new Shape(b, t), weight.Shape);
        ShapeMismatchException.ThrowIfDifferent("CombineRows", "y", new Shape(b, m, c), y.Shape);
        int span = RowSpan(y.Device, c), block = RowsPerIndex(y.Device, b * m);
        var launch = y.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(
            CombineRowsKernel, group));
        launch(y.Device.Accelerator.DefaultStream, Blocks(b * m, block) * Spans(c, span), x.View, offsets.View, sources.View, weight.View, y.View,
            t, m, c, span, block);
    }

    /// <summary>
    /// The gradient of <see cref="CombineRows"/>: dx[b, t, :] = (or +=) w[b, t] dy[b, dest[b, t], :] for
    /// <paramref name="dy"/> (B, M, C), <paramref name="destination"/> and <paramref name="weight"/> (B, T), and
    /// <paramref name="dx"/> (B, T, C); a dropped token (dest outside [0, M)) gets 0 (or keeps its value).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit together.</exception>
    public static void CombineRowsBackward(Tensor<float> dy, Tensor<int> destination, Tensor<float> weight, Tensor<float> dx, bool accumulate)
    {
        OnOneDevice("CombineRowsBackward", dy, destination, weight, dx);
        ShapeMismatchException.Require(dy.Shape.Rank == 3 && dx.Shape.Rank == 3 && dx.Shape[0] == dy.Shape[0] && dx.Shape[2] == dy.Shape[2],
            "CombineRowsBackward", $"dy has shape {dy.Shape} and dx {dx.Shape}; they need (B, M, C) and (B, T, C).");
        int b = dx.Shape[0], t = dx.Shape[1], c = dx.Shape[2], m = dy.Shape[1];
        ShapeMismatchException.ThrowIfDifferent("CombineRowsBackward", "destination", new Shape(b, t), destination.Shape);
        ShapeMismatchException.ThrowIfDifferent("CombineRowsBackward", "weight", new Shape(b, t), weight.Shape);
        // dx[b, t] = w[b, t] dy[b, dest[b, t]]: a weighted gather of dy's rows.
        LaunchGather(dy, destination, weight, dx, accumulate);
    }

    /// <summary>Checks the shapes every plan builder of a kept/dropped split shares (EViT, eTPS); returns (B, T).</summary>
    internal static (int Batch, int Tokens) PlanShapes(string op, Tensor<int> kept, Tensor<int> dropped, Tensor<int> destination, Tensor<float> weight)
    {
        ShapeMismatchException.Require(kept.Shape.Rank == 2 && destination.Shape.Rank == 2 && kept.Shape[0] == destination.Shape[0]
            && kept.Shape[1] >= 1 && kept.Shape[1] < destination.Shape[1], op,
            $"kept has shape {kept.Shape} and destination {destination.Shape}; they need (B, K + 1) and (B, T) with K + 1 < T.");
        int b = destination.Shape[0], t = destination.Shape[1];
        ShapeMismatchException.ThrowIfDifferent(op, "dropped", new Shape(b, t - kept.Shape[1]), dropped.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "weight", destination.Shape, weight.Shape);
        return (b, t);
    }

    // One index per image. offsets[0..m) first count the tokens of each row, then become row ends
    // (inclusive prefix sum); a backward pass over the tokens decrements them into row starts while
    // it fills sources, which leaves each row's sources in increasing order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void IndexPlanKernel(Index1D b, ArrayView<int> destination, ArrayView<float> weight, ArrayView<float> sizes,
        ArrayView<int> offsets, ArrayView<int> sources, ArrayView<float> newSizes, int t, int m, int normalize) =>
        IndexPlanImage(b, destination, weight, sizes, offsets, sources, newSizes, t, m, normalize);

    // The CPU body: the same passes over raw pointers (the view indexers' checks cost more than this scalar work).
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(IndexPlanImagePortable))]
    internal static unsafe void IndexPlanImage(int b, ArrayView<int> destination, ArrayView<float> weight, ArrayView<float> sizes,
        ArrayView<int> offsets, ArrayView<int> sources, ArrayView<float> newSizes, int t, int m, int normalize)
    {
        int* dest = FastMath.Address(destination, (long)b * t), src = FastMath.Address(sources, (long)b * t);
        int* off = FastMath.Address(offsets, (long)b * (m + 1));
        float* w = FastMath.Address(weight, (long)b * t), size = FastMath.Address(sizes, (long)b * t);
        float* newSize = FastMath.Address(newSizes, (long)b * m);
        new Span<int>(off, m + 1).Clear();
        for (int j = 0; j < t; j++)
            if ((uint)dest[j] < (uint)m) off[dest[j]]++;
        for (int i = 1; i < m; i++) off[i] += off[i - 1];
        off[m] = m > 0 ? off[m - 1] : 0;
        for (int j = t - 1; j >= 0; j--)
            if ((uint)dest[j] < (uint)m) src[--off[dest[j]]] = j;
        for (int i = 0; i < m; i++)
        {
            float total = 0f, sum = 0f;
            for (int k = off[i]; k < off[i + 1]; k++)
            {
                sum += size[src[k]];
                total += w[src[k]];
            }
            newSize[i] = sum;
            if (normalize != 0 && total != 0f)
                for (int k = off[i]; k < off[i + 1]; k++) w[src[k]] /= total;
        }
    }

    internal static void IndexPlanImagePortable(int b, ArrayView<int> destination, ArrayView<float> weight, ArrayView<float> sizes,
        ArrayView<int> offsets, ArrayView<int> sources, ArrayView<float> newSizes, int t, int m, int normalize)
    {
        int row = b * t, orow = b * (m + 1);
        for (int i = 0; i <= m; i++) offsets[orow + i] = 0;
        for (int j = 0; j < t; j++)
        {
            int d = destination[row + j];
            if (d >= 0 && d < m) offsets[orow + d]++;
        }
        for (int i = 1; i < m; i++) offsets[orow + i] += offsets[orow + i - 1];
        offsets[orow + m] = m > 0 ? offsets[orow + m - 1] : 0;
        for (int j = t - 1; j >= 0; j--)
        {
            int d = destination[row + j];
            if (d >= 0 && d < m) sources[row + --offsets[orow + d]] = j;
        }
        for (int i = 0; i < m; i++)
        {
            float size = 0f, total = 0f;
            for (int k = offsets[orow + i]; k < offsets[orow + i + 1]; k++)
            {
                size += sizes[row + sources[row + k]];
                total += weight[row + sources[row + k]];
            }
            newSizes[b * m + i] = size;
            if (normalize != 0 && total != 0f)
                for (int k = offsets[orow + i]; k < offsets[orow + i + 1]; k++) weight[row + sources[row + k]] /= total;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CombineRowsKernel(Index1D i, ArrayView<float> x, ArrayView<int> offsets, ArrayView<int> sources, ArrayView<float> weight,
        ArrayView<float> y, int t, int m, int c, int span, int rowsPerIndex)
    {
        int spans = (c + span - 1) / span;
        int first = i / spans * rowsPerIndex, c0 = i % spans * span;
        int n = Math.Min(span, c - c0);
        for (int row = first; row < Math.Min((int)(y.Length / c), first + rowsPerIndex); row++)
            CombineRow(x, offsets, sources, weight, y, row / m, row % m, t, m, c, c0, n);
    }

    /// <summary>
    /// Output row <paramref name="k"/> of image <paramref name="b"/>, channels [c0, c0 + n): its sources' rows of x times
    /// their weights, summed in source order (a product, then fused multiply-adds); zero without sources. CombineRows runs it
    /// per row (and channel span).
    /// </summary>
    internal static void CombineRow(ArrayView<float> x, ArrayView<int> offsets, ArrayView<int> sources, ArrayView<float> weight,
        ArrayView<float> y, int b, int k, int t, int m, int c, int c0, int n)
    {
        int orow = b * (m + 1) + k, dst = (b * m + k) * c + c0, start = offsets[orow], end = offsets[orow + 1];
        if (start == end)
            for (int j = 0; j < n; j++) y[dst + j] = 0f;
        for (int s = start; s < end; s++)
        {
            int token = b * t + sources[b * t + s];
            ScaleRow(x, y, token * c + c0, dst, n, weight[token], s == start ? 0 : 1);
        }
    }

    /// <summary>
    /// Every output row of image <paramref name="b"/> (whole rows of c channels): the values <see cref="CombineRow"/> gives,
    /// for callers that hold the image's plan with its <paramref name="destination"/> (ToMe's CPU matching).
    /// </summary>
    // The CPU body walks the tokens in order and adds each into its row (its first source a product, the rest FMAs: per row
    // the same operations in the same order as CombineRow, since a row's sources are in token order). The reads are then
    // sequential; walking the rows read ToMe's tokens at a stride of two (A tokens first, then B), which the prefetcher
    // served at half the speed of a gather in token order (docs/benchmarks.md).
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(CombineImagePortable))]
    internal static unsafe void CombineImage(ArrayView<float> x, ArrayView<int> destination, ArrayView<int> offsets, ArrayView<int> sources,
        ArrayView<float> weight, ArrayView<float> y, int b, int t, int m, int c)
    {
        int* dest = FastMath.Address(destination, (long)b * t), src = FastMath.Address(sources, (long)b * t);
        int* offset = FastMath.Address(offsets, (long)b * (m + 1));
        float* w = FastMath.Address(weight, (long)b * t), xs = FastMath.Address(x, (long)b * t * c), ys = FastMath.Address(y, (long)b * m * c);
        for (int k = 0; k < m; k++)
            if (offset[k] == offset[k + 1]) new Span<float>(ys + (long)k * c, c).Clear();
        for (int j = 0; j < t; j++)
        {
            int k = dest[j];
            if ((uint)k >= (uint)m) continue;    // dropped
            float* from = xs + (long)j * c, to = ys + (long)k * c;
            var scale = Vector512.Create(w[j]);
            int e = 0;
            if (src[offset[k]] == j)
            {
                for (; e + 16 <= c; e += 16) (Vector512.Load(from + e) * scale).Store(to + e);
                for (; e < c; e++) to[e] = from[e] * w[j];
            }
            else
            {
                for (; e + 16 <= c; e += 16) Vector512.FusedMultiplyAdd(Vector512.Load(from + e), scale, Vector512.Load(to + e)).Store(to + e);
                for (; e < c; e++) to[e] = MathF.FusedMultiplyAdd(from[e], w[j], to[e]);
            }
        }
    }

    internal static void CombineImagePortable(ArrayView<float> x, ArrayView<int> destination, ArrayView<int> offsets, ArrayView<int> sources,
        ArrayView<float> weight, ArrayView<float> y, int b, int t, int m, int c)
    {
        for (int k = 0; k < m; k++) CombineRow(x, offsets, sources, weight, y, b, k, t, m, c, 0, c);
    }
}
