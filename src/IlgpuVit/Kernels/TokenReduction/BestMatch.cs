// Best match by similarity, fused: ToMe's partner of each A token and the host of each dropped token
// (eTPS, VPA's host mode). For rows a (B, Na, D) and b (B, Nb, D), L2-normalised so dots are cosines,
//   index[b, i] = argmax_{j ≥ firstColumn} a_i · b_j     (ties to the lower j)
//   score[b, i] = that dot;  rows i < firstRow get score −inf (a top-k never picks them) and index firstColumn
// firstRow = 1 keeps ToMe's CLS (A row 0) from merging; firstColumn = 1 keeps CLS (kept row 0) from
// hosting. The similarity matrix is never stored: on the CPU one kernel index per block of rows of a dots
// it with every b row (Vector512), which replaced a normalise + GEMM + argmax chain of five launches. On
// GPUs one thread group owns a row of a (docs/backends.md, "GPU row kernels"): its threads take b rows
// firstColumn + t, + group size, ..., each keeps its best, and the group reduces the maximum and then the
// lowest column holding it (GroupReduce.cs). Source: ToMe, tome/merge.py (scores.max(dim=-1)); eTPS's
// host assignment.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// For each row of <paramref name="a"/> (B, Na, D), the row of <paramref name="b"/> (B, Nb, D) of the same image with
    /// the largest dot product among columns ≥ <paramref name="firstColumn"/>: its index into <paramref name="index"/> (B, Na)
    /// and the dot into <paramref name="score"/> (B, Na). Rows below <paramref name="firstRow"/> score −inf.
    /// Normalise the rows first for cosines.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">firstColumn leaves no column, or firstRow is negative.</exception>
    public static void BestMatch(Tensor<float> a, Tensor<float> b, int firstRow, int firstColumn, Tensor<int> index, Tensor<float> score)
    {
        OnOneDevice("BestMatch", a, b, index, score);
        ShapeMismatchException.Require(a.Shape.Rank == 3 && b.Shape.Rank == 3 && a.Shape[0] == b.Shape[0] && a.Shape[2] == b.Shape[2],
            "BestMatch", $"a has shape {a.Shape} and b {b.Shape}; they need (B, Na, D) and (B, Nb, D).");
        var rows = new Shape(a.Shape[0], a.Shape[1]);
        ShapeMismatchException.ThrowIfDifferent("BestMatch", "index", rows, index.Shape);
        ShapeMismatchException.ThrowIfDifferent("BestMatch", "score", rows, score.Shape);
        if (firstColumn < 0 || firstColumn >= b.Shape[1])
            throw new ArgumentOutOfRangeException(nameof(firstColumn), firstColumn, $"BestMatch: firstColumn must leave at least one of the {b.Shape[1]} columns.");
        ArgumentOutOfRangeException.ThrowIfNegative(firstRow);
        int total = (int)rows.Length;
        if (!a.Device.UsesCpuFastPath)
        {
            var rowLaunch = a.Device.Kernel(static (acc, _) => acc.LoadKernel<
                ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int>(BestMatchGroupKernel));
            rowLaunch(a.Device.Accelerator.DefaultStream, new KernelConfig(total, RowGroup(a.Device, b.Shape[1] - firstColumn)),
                a.View, b.View, index.View, score.View, a.Shape[1], b.Shape[1], a.Shape[2], firstRow, firstColumn);
            return;
        }
        int block = RowsPerIndex(a.Device, total);
        var launch = a.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int, int>(BestMatchKernel, group));
        launch(a.Device.Accelerator.DefaultStream, Blocks(total, block), a.View, b.View, index.View, score.View,
            a.Shape[1], b.Shape[1], a.Shape[2], firstRow, firstColumn, block);
    }

    /// <summary>One group per row of a; each thread dots it with b rows firstColumn + thread, + group size, ...</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BestMatchGroupKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<int> index, ArrayView<float> score,
        int na, int nb, int d, int firstRow, int firstColumn)
    {
        int row = Grid.IdxX, bRow0 = row / na * nb;
        if (row % na < firstRow)   // the whole group takes this branch: no barrier is skipped by some threads only
        {
            if (Group.IdxX == 0)
            {
                index[row] = firstColumn;
                score[row] = float.NegativeInfinity;
            }
            return;
        }
        // Each thread walks its columns upwards and keeps strict improvements, so it holds its lowest best column;
        // a NaN dot never improves. int.MaxValue: this thread saw nothing above −inf.
        float best = float.NegativeInfinity;
        int arg = int.MaxValue;
        for (int j = firstColumn + Group.IdxX; j < nb; j += Group.DimX)
        {
            float dot = Dot(a, b, row * d, (bRow0 + j) * d, d);
            if (dot > best) { best = dot; arg = j; }
        }
        float groupBest = GroupReduce<MaxOp>(best);
        int groupArg = GroupMinIndex(best == groupBest ? arg : int.MaxValue);
        if (Group.IdxX != 0) return;
        index[row] = groupArg == int.MaxValue ? firstColumn : groupArg;   // every dot −inf or NaN: as on the CPU
        score[row] = groupBest;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BestMatchKernel(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<int> index, ArrayView<float> score,
        int na, int nb, int d, int firstRow, int firstColumn, int rowsPerIndex)
    {
        int total = (int)index.Length;
        for (int row = i * rowsPerIndex; row < Math.Min(total, (i + 1) * rowsPerIndex); row++)
        {
            if (row % na >= firstRow)
                BestRow(a, b, index, score, row * d, row / na * nb * d, d, row, nb, d, firstColumn);
            else
            {
                index[row] = firstColumn;
                score[row] = float.NegativeInfinity;
            }
        }
    }

    /// <summary>
    /// index[row], score[row] = argmax and max over j in [firstColumn, nb) of the dot of a's row of d at aStart with b's
    /// row j at bStart + j·ld, ties to the lower j; a NaN dot never wins.
    /// </summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(BestRowPortable))]
    internal static unsafe void BestRow(ArrayView<float> a, ArrayView<float> b, ArrayView<int> index, ArrayView<float> score,
        int aStart, int bStart, int ld, int row, int nb, int d, int firstColumn)
    {
        // Four b rows per pass share each load of a's row and amortise the loop; one horizontal sum per dot.
        float* x = FastMath.Address(a, aStart);
        float* y = FastMath.Address(b, bStart);
        int arg = firstColumn, j = firstColumn;
        float best = float.NegativeInfinity;
        for (; j + 4 <= nb; j += 4)
        {
            float* y0 = y + (long)j * ld, y1 = y0 + ld, y2 = y1 + ld, y3 = y2 + ld;
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            int e = 0;
            for (; e + 16 <= d; e += 16)
            {
                var v = Vector512.Load(x + e);
                s0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(y0 + e), s0);
                s1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(y1 + e), s1);
                s2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(y2 + e), s2);
                s3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(y3 + e), s3);
            }
            float d0 = Vector512.Sum(s0), d1 = Vector512.Sum(s1), d2 = Vector512.Sum(s2), d3 = Vector512.Sum(s3);
            for (; e < d; e++)
            {
                d0 = MathF.FusedMultiplyAdd(x[e], y0[e], d0);
                d1 = MathF.FusedMultiplyAdd(x[e], y1[e], d1);
                d2 = MathF.FusedMultiplyAdd(x[e], y2[e], d2);
                d3 = MathF.FusedMultiplyAdd(x[e], y3[e], d3);
            }
            if (d0 > best) { best = d0; arg = j; }
            if (d1 > best) { best = d1; arg = j + 1; }
            if (d2 > best) { best = d2; arg = j + 2; }
            if (d3 > best) { best = d3; arg = j + 3; }
        }
        for (; j < nb; j++)
        {
            float dot = Dot(a, b, aStart, bStart + j * ld, d);
            if (dot > best) { best = dot; arg = j; }
        }
        index[row] = arg;
        score[row] = best;
    }

    internal static void BestRowPortable(ArrayView<float> a, ArrayView<float> b, ArrayView<int> index, ArrayView<float> score,
        int aStart, int bStart, int ld, int row, int nb, int d, int firstColumn)
    {
        int arg = firstColumn;
        float best = float.NegativeInfinity;
        for (int j = firstColumn; j < nb; j++)
        {
            float dot = Dot(a, b, aStart, bStart + j * ld, d);
            if (dot > best) { best = dot; arg = j; }
        }
        index[row] = arg;
        score[row] = best;
    }

    /// <summary>
    /// BestMatchKernel's rows for one image: the A rows r &lt; <paramref name="rows"/> of d at aStart + r·ld against the
    /// nb B rows at bStart + j·ld, into index and score at row0 + r, the first <paramref name="firstRow"/> scored −inf.
    /// ToMe's CPU matching calls it once per image, on the image's keys in token order (A even, B odd: ld = 2d). On the
    /// CPU the A rows are staged transposed (d x 16-lane blocks) once, so 16 A rows' dots with a B row are d
    /// broadcast-FMAs and every lane keeps its own best as the B rows go by in order: ties go to the lower column, a NaN
    /// dot never wins, and no horizontal reduction is left.
    /// </summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(BestRowsPortable)), SkipLocalsInit]
    internal static unsafe void BestRows(ArrayView<float> a, ArrayView<float> b, ArrayView<int> index, ArrayView<float> score,
        int aStart, int bStart, int ld, int row0, int rows, int nb, int d, int firstRow, int firstColumn)
    {
        int rp = (rows + 15) / 16 * 16;
        if ((long)d * rp > 16384)
        {
            for (int r = 0; r < rows; r++)
                if (r >= firstRow) BestRow(a, b, index, score, aStart + r * ld, bStart, ld, row0 + r, nb, d, firstColumn);
                else (index[row0 + r], score[row0 + r]) = (firstColumn, float.NegativeInfinity);
            return;
        }
        float* at = stackalloc float[d * rp];
        StageTransposed(FastMath.Address(a, aStart), rows, d, ld, at, rp);
        float* y = FastMath.Address(b, bStart);
        float* bestLanes = stackalloc float[16];
        int* argLanes = stackalloc int[16];
        for (int r0 = 0; r0 < rows; r0 += 16)
        {
            var best = Vector512.Create(float.NegativeInfinity);
            var arg = Vector512.Create(firstColumn);
            int j = firstColumn;
            for (; j + 2 <= nb; j += 2)      // two B rows per pass: two independent FMA chains
            {
                float* y0 = y + (long)j * ld, y1 = y0 + ld;
                Vector512<float> d0 = default, d1 = default;
                for (int e = 0; e < d; e++)
                {
                    var x = Vector512.Load(at + e * rp + r0);
                    d0 = Vector512.FusedMultiplyAdd(x, Vector512.Create(y0[e]), d0);
                    d1 = Vector512.FusedMultiplyAdd(x, Vector512.Create(y1[e]), d1);
                }
                KeepBetter(ref best, ref arg, d0, j);
                KeepBetter(ref best, ref arg, d1, j + 1);
            }
            for (; j < nb; j++)
            {
                float* y0 = y + (long)j * ld;
                var d0 = Vector512<float>.Zero;
                for (int e = 0; e < d; e++) d0 = Vector512.FusedMultiplyAdd(Vector512.Load(at + e * rp + r0), Vector512.Create(y0[e]), d0);
                KeepBetter(ref best, ref arg, d0, j);
            }
            best.Store(bestLanes);
            arg.Store(argLanes);
            for (int k = 0; k < 16 && r0 + k < rows; k++)
            {
                int row = row0 + r0 + k;
                if (r0 + k < firstRow) (index[row], score[row]) = (firstColumn, float.NegativeInfinity);
                else (index[row], score[row]) = (argLanes[k], bestLanes[k]);
            }
        }
    }

    // Per lane: B row `column`'s dots replace the best so far where strictly larger (a NaN never is; a tie keeps the earlier column).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeepBetter(ref Vector512<float> best, ref Vector512<int> arg, Vector512<float> dots, int column)
    {
        var better = Vector512.GreaterThan(dots, best);
        best = Vector512.ConditionalSelect(better, dots, best);
        arg = Vector512.ConditionalSelect(better.AsInt32(), Vector512.Create(column), arg);
    }

    internal static void BestRowsPortable(ArrayView<float> a, ArrayView<float> b, ArrayView<int> index, ArrayView<float> score,
        int aStart, int bStart, int ld, int row0, int rows, int nb, int d, int firstRow, int firstColumn)
    {
        for (int r = 0; r < rows; r++)
        {
            if (r >= firstRow) BestRowPortable(a, b, index, score, aStart + r * ld, bStart, ld, row0 + r, nb, d, firstColumn);
            else
            {
                index[row0 + r] = firstColumn;
                score[row0 + r] = float.NegativeInfinity;
            }
        }
    }
}
