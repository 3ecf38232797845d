// ToMe's plan (docs/methods.md, method 6; Bolya et al., ICLR 2023). With A the even tokens (CLS at 0) and
// B the odd ones, partner[a] each A token's most similar B token by key cosine (Ops.BestMatch, which
// scores the CLS row −inf), the r A tokens with the best scores (Ops.TopK) merge into their
// partners: the plan keeps the unmerged A tokens in token order, then every B token, with each
// token's size as its weight (IndexPlan normalises: the size-weighted mean). One index per image.
// Source: ToMe, tome/merge.py (bipartite_soft_matching, merge_wavg). As merge.py does for a model
// with a class token (it sorts the unmerged indices), unmerged A tokens keep their token order
// (docs/methods.md), so CLS stays first. Without a class token (TomePlanInScoreOrder) merge.py leaves the
// unmerged A tokens in its argsort's order, best score first; that plan takes every A token by
// descending score and keeps that order (docs/methods.md, method 6).
// Match runs the whole chain from the fused qkv projection (head-mean keys, normalise, split, best
// match, top r, plan, the plan's gather form (Ops.IndexPlan) and the next block's key bias), and when
// given the tokens, the merge itself (CombineRows), starting from the keys when the block's attention averaged them
// while they were in cache (AttentionExtras.HeadMeanKeys): on GPUs as those launches, on the CPU as one kernel index
// per image that calls the same row helpers in the same order, reading A and B in place (the even and odd rows of the
// keys) instead of splitting them (the launches cost more than the work there). Merging there, image by image, reads each image's tokens while its plan is fresh; as a
// launch of its own after all the matching, the tokens had left the cache (docs/benchmarks.md).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Reduction;

/// <summary>ToMe's plan builder on the device.</summary>
public static class TomeMatching
{
    /// <summary>
    /// ToMe's whole plan for <paramref name="heads"/>-head attention's fused projections <paramref name="qkv"/> (B, T, 3C):
    /// the head-mean keys, normalised, split into A (even) and B (odd) tokens, each A token's best B partner, the
    /// <paramref name="r"/> best-scoring A tokens merged (never CLS), into <paramref name="destination"/> and
    /// <paramref name="weight"/> (B, T) as <see cref="TomePlan"/> gives them, with <paramref name="sizes"/> (B, T) as weights;
    /// then the plan's gather form as <see cref="Ops.IndexPlan"/> with normalize gives it: <paramref name="index"/>'s
    /// offsets (B, T − r + 1), sources (B, T) and sizes (B, T − r), the weights normalised in place; and when the index has
    /// room for it, the next block's key bias <paramref name="lambda"/> log(size) (B, T − r). Without
    /// <paramref name="classToken"/>, token 0 may merge too and the plan is <see cref="TomePlanInScoreOrder"/>'s.
    /// Given the tokens <paramref name="x"/> (B, T, C), it also merges them into <paramref name="combined"/> (B, T − r, C),
    /// the values <see cref="Ops.CombineRows"/> gives for the plan. Given the head-mean keys <paramref name="keys"/>
    /// (B, T, C / heads, normalised, as the block's attention writes them), it reads those instead of averaging qkv's.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit, or only one of x and combined is given.</exception>
    /// <exception cref="ArgumentOutOfRangeException">r is not in [1, ⌈T/2⌉ − 1] (with a class token) or [1, ⌊T/2⌋] (without).</exception>
    public static void Match(Tensor<float> qkv, int heads, Tensor<float> sizes, int r, Tensor<int> destination, Tensor<float> weight, PlanIndex index,
        float lambda = 1f, bool classToken = true, Tensor<float>? x = null, Tensor<float>? combined = null, Tensor<float>? keys = null)
    {
        var device = Ops.OnOneDevice("TomeMatch", qkv, sizes, destination, weight, index.Offsets, index.Sources, index.Sizes, index.KeyBias, x, combined,
            keys);
        ShapeMismatchException.Require(qkv.Shape.Rank == 3 && heads >= 1 && qkv.Shape[2] % (3 * heads) == 0 && qkv.Shape[1] >= 2, "TomeMatch",
            $"qkv has shape {qkv.Shape}; it needs (B, T, 3C) with T ≥ 2 and C a multiple of {heads} heads.");
        int batch = qkv.Shape[0], tokens = qkv.Shape[1], d = qkv.Shape[2] / 3 / heads;
        int a = (tokens + 1) / 2, b = tokens / 2;
        int most = classToken ? a - 1 : b, ranked = classToken ? r : a;     // without CLS every A token is ranked
        if (r < 1 || r > most)
            throw new ArgumentOutOfRangeException(nameof(r), r, $"TomeMatch: r must lie in [1, {most}] for {tokens} tokens{(classToken ? " with a class token" : "")}.");
        var rows = new Shape(batch, tokens);
        foreach (var (name, shape) in new[] { ("sizes", sizes.Shape), ("destination", destination.Shape), ("weight", weight.Shape),
                     ("index sources", index.Sources.Shape) })
            ShapeMismatchException.ThrowIfDifferent("TomeMatch", name, rows, shape);
        ShapeMismatchException.ThrowIfDifferent("TomeMatch", "index offsets", new Shape(batch, tokens - r + 1), index.Offsets.Shape);
        ShapeMismatchException.ThrowIfDifferent("TomeMatch", "index sizes", new Shape(batch, tokens - r), index.Sizes.Shape);
        if (index.KeyBias is { } bias) ShapeMismatchException.ThrowIfDifferent("TomeMatch", "index key bias", index.Sizes.Shape, bias.Shape);
        if (keys is not null) ShapeMismatchException.ThrowIfDifferent("TomeMatch", "keys", new Shape(batch, tokens, d), keys.Shape);
        ShapeMismatchException.Require((x is null) == (combined is null), "TomeMatch", "x and combined come together: the tokens and the rows they merge into.");
        int channels = x?.Shape.Rank == 3 ? x.Shape[2] : 0;
        if (x is not null)
        {
            ShapeMismatchException.ThrowIfDifferent("TomeMatch", "x", new Shape(batch, tokens, channels), x.Shape);
            ShapeMismatchException.ThrowIfDifferent("TomeMatch", "combined", new Shape(batch, tokens - r, channels), combined!.Shape);
        }
        var g = new MatchArgs(batch, tokens, heads, d, r, lambda, index.KeyBias is null ? 0 : 1, classToken ? 1 : 0, channels, keys is null ? 0 : 1);
        if (!device.UsesCpuFastPath)
        {
            using var averaged = keys is null ? Tensor<float>.Empty(device, batch, tokens, d) : null;
            using var keysA = Tensor<float>.Empty(device, batch, a, d);
            using var keysB = Tensor<float>.Empty(device, batch, b, d);
            using var partner = Tensor<int>.Empty(device, batch, a);
            using var best = Tensor<float>.Empty(device, batch, a);
            using var merged = Tensor<int>.Empty(device, batch, ranked);
            using var mask = Tensor<int>.Empty(device, batch, a);
            if (averaged is not null) Ops.HeadMeanKeys(qkv, heads, averaged, normalize: true);
            Ops.SplitAlternate(keys ?? averaged!, keysA, keysB);
            Ops.BestMatch(keysA, keysB, firstRow: classToken ? 1 : 0, firstColumn: 0, partner, best);     // CLS scores −inf: never merges
            Ops.TopK(best, merged);
            if (classToken) TomePlan(partner, merged, sizes, mask, destination, weight);
            else TomePlanInScoreOrder(partner, merged, r, sizes, destination, weight);
            Ops.IndexPlan(destination, weight, sizes, normalize: true, index.Offsets, index.Sources, index.Sizes);
            if (index.KeyBias is not null) Ops.Map(index.Sizes, index.KeyBias, new ScaledLogOp(lambda));
            if (x is not null) Ops.CombineRows(x, index.Offsets, index.Sources, weight, combined!);
            return;
        }
        // CPU scratch in two buffers: floats [keys, unless given | best], ints [partner | ranked | mask].
        using var floats = Tensor<float>.Empty(device, batch * ((keys is null ? tokens * d : 0) + a));
        using var ints = Tensor<int>.Empty(device, batch * (2 * a + ranked));
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
            ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, MatchArgs>(MatchKernel, group));
        launch(device.Accelerator.DefaultStream, batch, (keys ?? qkv).View, floats.View, ints.View, sizes.View, destination.View, weight.View,
            index.Offsets.View, index.Sources.View, index.Sizes.View, (index.KeyBias ?? index.Sizes).View, (x ?? qkv).View, (combined ?? qkv).View, g);
    }

    // CPU only: one index per image runs the launches' row work in order, on the same helpers. `source` is qkv, or the
    // head-mean keys when g.KeysGiven. The keys stay in token order: A rows are the even ones, B rows the odd (stride 2d).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MatchKernel(Index1D image, ArrayView<float> source, ArrayView<float> floats, ArrayView<int> ints, ArrayView<float> sizes,
        ArrayView<int> destination, ArrayView<float> weight, ArrayView<int> offsets, ArrayView<int> sources, ArrayView<float> newSizes,
        ArrayView<float> keyBias, ArrayView<float> x, ArrayView<float> combined, MatchArgs g)
    {
        int d = g.HeadDim, t = g.Tokens, a = (t + 1) / 2, b = t / 2, r = g.R, batch = g.Batch;
        int ranked = g.ClassToken != 0 ? r : a;
        long keysLength = g.KeysGiven != 0 ? 0 : (long)batch * t * d;
        var keys = g.KeysGiven != 0 ? source : floats.SubView(0, keysLength);
        var best = floats.SubView(keysLength, (long)batch * a);
        var partner = ints.SubView(0, (long)batch * a);
        var merged = ints.SubView((long)batch * a, (long)batch * ranked);
        var mask = ints.SubView((long)batch * (a + ranked), (long)batch * a);
        if (g.KeysGiven == 0) Ops.HeadMeanKeyRows(source, keys, (long)image.X * t, t, g.Heads, d, 1);
        Ops.BestRows(keys, keys, partner, best, image * t * d, (image * t + 1) * d, 2 * d, image * a, a, b, d, g.ClassToken, 0);
        Ops.TopKRanks(best, merged, best, image * a, image * ranked, a, ranked, 0, a, 0);
        if (g.ClassToken != 0)
            TomePlanImage(image, partner, merged, sizes, mask, destination, weight, offsets, sources, newSizes, keyBias, t, r, g.Lambda, g.WriteKeyBias);
        else
        {
            TomePlanInScoreOrderKernel(image, partner, merged, sizes, destination, weight, t, r);
            Ops.IndexPlanImage(image, destination, weight, sizes, offsets, sources, newSizes, t, t - r, 1);
            if (g.WriteKeyBias != 0) KeyBiasImage(image, newSizes, keyBias, t - r, g.Lambda);
        }
        if (g.Channels > 0) Ops.CombineImage(x, destination, offsets, sources, weight, combined, image, t, t - r, g.Channels);
    }

    // ToMe's plan for one image with a class token, straight into its gather form: bit for bit what TomePlanKernel, then
    // IndexPlanImage with normalize, then the key bias give (the portable twin runs exactly those). The plan's shape is
    // known, each unmerged A token alone in its row and each B row its own token plus the A tokens merged into it, so the
    // rows' starts come from r counts instead of a counting pass, and every read goes through a pointer, not a checked view.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(TomePlanImagePortable)), SkipLocalsInit]
    internal static unsafe void TomePlanImage(int image, ArrayView<int> partner, ArrayView<int> merged, ArrayView<float> sizes, ArrayView<int> mask,
        ArrayView<int> destination, ArrayView<float> weight, ArrayView<int> offsets, ArrayView<int> sources, ArrayView<float> newSizes,
        ArrayView<float> keyBias, int t, int r, float lambda, int writeKeyBias)
    {
        int a = (t + 1) / 2, nb = t / 2, unmerged = a - r, m = t - r;
        if (m > 4096)     // the row cursors below live on the stack
        {
            TomePlanImagePortable(image, partner, merged, sizes, mask, destination, weight, offsets, sources, newSizes, keyBias, t, r, lambda, writeKeyBias);
            return;
        }
        int* part = FastMath.Address(partner, (long)image * a), chosen = FastMath.Address(merged, (long)image * r);
        int* isMerged = FastMath.Address(mask, (long)image * a), dest = FastMath.Address(destination, (long)image * t);
        int* src = FastMath.Address(sources, (long)image * t), off = FastMath.Address(offsets, (long)image * (m + 1));
        float* size = FastMath.Address(sizes, (long)image * t), w = FastMath.Address(weight, (long)image * t);
        float* newSize = FastMath.Address(newSizes, (long)image * m);
        new Span<int>(isMerged, a).Clear();
        for (int k = 0; k < r; k++) isMerged[chosen[k]] = 1;
        for (int p = 0; p <= unmerged; p++) off[p] = p;
        for (int i = 0; i < nb; i++) off[unmerged + 1 + i] = 1;                       // B row i: its own token ...
        for (int k = 0; k < r; k++) off[unmerged + 1 + part[chosen[k]]]++;           // ... and those merged into it
        for (int i = 0; i < nb; i++) off[unmerged + 1 + i] += off[unmerged + i];
        for (int i = 0, next = 0; i < a; i++) dest[2 * i] = isMerged[i] == 0 ? next++ : unmerged + part[i];
        for (int i = 0; i < nb; i++) dest[2 * i + 1] = unmerged + i;
        int* cursor = stackalloc int[m];
        new Span<int>(off, m).CopyTo(new Span<int>(cursor, m));
        for (int j = 0; j < t; j++) src[cursor[dest[j]]++] = j;                      // each row's tokens in token order
        for (int k = 0; k < m; k++)
        {
            float sum = 0f;                                                          // the weights are the sizes: one sum serves both
            for (int s = off[k]; s < off[k + 1]; s++) sum += size[src[s]];
            newSize[k] = sum;
            for (int s = off[k]; s < off[k + 1]; s++) w[src[s]] = sum != 0f ? size[src[s]] / sum : size[src[s]];
        }
        if (writeKeyBias != 0) KeyBiasImage(image, newSizes, keyBias, m, lambda);
    }

    internal static void TomePlanImagePortable(int image, ArrayView<int> partner, ArrayView<int> merged, ArrayView<float> sizes, ArrayView<int> mask,
        ArrayView<int> destination, ArrayView<float> weight, ArrayView<int> offsets, ArrayView<int> sources, ArrayView<float> newSizes,
        ArrayView<float> keyBias, int t, int r, float lambda, int writeKeyBias)
    {
        TomePlanKernel(image, partner, merged, sizes, mask, destination, weight, t, r);
        Ops.IndexPlanImage(image, destination, weight, sizes, offsets, sources, newSizes, t, t - r, 1);
        if (writeKeyBias != 0) KeyBiasImage(image, newSizes, keyBias, t - r, lambda);
    }

    // The next block's key bias for one image's m rows: λ log(size), ToMe's proportional attention. Most rows are single
    // tokens of size 1 in the early blocks, and λ · 0 is what λ log(1) gives, bit for bit, without the log.
    private static void KeyBiasImage(int image, ArrayView<float> newSizes, ArrayView<float> keyBias, int m, float lambda)
    {
        for (int k = image * m; k < (image + 1) * m; k++)
        {
            float size = newSizes[k];
            keyBias[k] = lambda * (size == 1f ? 0f : MathF.Log(size));
        }
    }

    /// <summary>
    /// One matching launch: batch, tokens, heads, head width, merges, the key bias's λ if it is written, whether token 0 is a
    /// class token, the tokens' channels if it merges them (0: it does not), and whether the head-mean keys are given.
    /// </summary>
    internal readonly record struct MatchArgs(int Batch, int Tokens, int Heads, int HeadDim, int R, float Lambda, int WriteKeyBias, int ClassToken,
        int Channels, int KeysGiven);

    /// <summary>
    /// Fills ToMe's token plan (T − r output rows) for T tokens: <paramref name="merged"/> (B, r) are the merging A
    /// tokens (indices into A, never 0: CLS), <paramref name="partner"/> (B, |A|) their B partners,
    /// <paramref name="sizes"/> (B, T) the weights; <paramref name="mask"/> (B, |A|) is scratch.
    /// Index it with <see cref="Ops.IndexPlan"/>, normalize on.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void TomePlan(Tensor<int> partner, Tensor<int> merged, Tensor<float> sizes, Tensor<int> mask,
        Tensor<int> destination, Tensor<float> weight)
    {
        Ops.OnOneDevice("TomePlan", partner, merged, sizes, mask, destination, weight);
        ShapeMismatchException.Require(destination.Shape.Rank == 2 && destination.Shape[1] >= 2, "TomePlan",
            $"destination has shape {destination.Shape}; it needs (B, T) with T ≥ 2.");
        int b = destination.Shape[0], t = destination.Shape[1], a = (t + 1) / 2;
        ShapeMismatchException.ThrowIfDifferent("TomePlan", "partner", new Shape(b, a), partner.Shape);
        ShapeMismatchException.ThrowIfDifferent("TomePlan", "mask", new Shape(b, a), mask.Shape);
        ShapeMismatchException.Require(merged.Shape.Rank == 2 && merged.Shape[0] == b && merged.Shape[1] < a, "TomePlan",
            $"merged has shape {merged.Shape}; it needs ({b}, r) with r < {a}.");
        foreach (var (name, shape) in new[] { ("sizes", sizes.Shape), ("weight", weight.Shape) })
            ShapeMismatchException.ThrowIfDifferent("TomePlan", name, destination.Shape, shape);
        var launch = weight.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int, int>(
            TomePlanKernel, group));
        launch(weight.Device.Accelerator.DefaultStream, b, partner.View, merged.View, sizes.View, mask.View, destination.View, weight.View,
            t, merged.Shape[1]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TomePlanKernel(Index1D b, ArrayView<int> partner, ArrayView<int> merged, ArrayView<float> sizes, ArrayView<int> mask,
        ArrayView<int> destination, ArrayView<float> weight, int t, int r)
    {
        int a = (t + 1) / 2, row = b * t;
        for (int i = 0; i < a; i++) mask[b * a + i] = 0;
        for (int k = 0; k < r; k++) mask[b * a + merged[b * r + k]] = 1;
        int unmerged = a - r, next = 0;
        for (int i = 0; i < a; i++)
            destination[row + 2 * i] = mask[b * a + i] == 0 ? next++ : unmerged + partner[b * a + i];
        for (int i = 0; 2 * i + 1 < t; i++) destination[row + 2 * i + 1] = unmerged + i;
        for (int j = 0; j < t; j++) weight[row + j] = sizes[row + j];
    }

    /// <summary>
    /// ToMe's plan without a class token (T − r output rows): <paramref name="order"/> (B, |A|) holds every A token by
    /// descending best score (<see cref="Ops.TopK"/> with k = |A|); the first <paramref name="r"/> merge into their
    /// <paramref name="partner"/> (B, |A|), the others go first in that order, then every B token;
    /// <paramref name="sizes"/> (B, T) are the weights. Index it with <see cref="Ops.IndexPlan"/>, normalize on.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit, or r is not in [0, |A|].</exception>
    public static void TomePlanInScoreOrder(Tensor<int> partner, Tensor<int> order, int r, Tensor<float> sizes, Tensor<int> destination, Tensor<float> weight)
    {
        Ops.OnOneDevice("TomePlanInScoreOrder", partner, order, sizes, destination, weight);
        ShapeMismatchException.Require(destination.Shape.Rank == 2 && destination.Shape[1] >= 2, "TomePlanInScoreOrder",
            $"destination has shape {destination.Shape}; it needs (B, T) with T ≥ 2.");
        int b = destination.Shape[0], t = destination.Shape[1], a = (t + 1) / 2;
        ShapeMismatchException.ThrowIfDifferent("TomePlanInScoreOrder", "partner", new Shape(b, a), partner.Shape);
        ShapeMismatchException.ThrowIfDifferent("TomePlanInScoreOrder", "order", new Shape(b, a), order.Shape);
        ShapeMismatchException.Require(r >= 0 && r <= t / 2, "TomePlanInScoreOrder", $"r is {r}; {t} tokens merge at most {t / 2}.");
        foreach (var (name, shape) in new[] { ("sizes", sizes.Shape), ("weight", weight.Shape) })
            ShapeMismatchException.ThrowIfDifferent("TomePlanInScoreOrder", name, destination.Shape, shape);
        var launch = weight.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(
            TomePlanInScoreOrderKernel, group));
        launch(weight.Device.Accelerator.DefaultStream, b, partner.View, order.View, sizes.View, destination.View, weight.View, t, r);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TomePlanInScoreOrderKernel(Index1D b, ArrayView<int> partner, ArrayView<int> order, ArrayView<float> sizes,
        ArrayView<int> destination, ArrayView<float> weight, int t, int r)
    {
        int a = (t + 1) / 2, row = b * t, unmerged = a - r;
        for (int p = 0; p < a; p++)
        {
            int i = order[b * a + p];
            destination[row + 2 * i] = p < r ? unmerged + partner[b * a + i] : p - r;
        }
        for (int i = 0; 2 * i + 1 < t; i++) destination[row + 2 * i + 1] = unmerged + i;
        for (int j = 0; j < t; j++) weight[row + j] = sizes[row + j];
    }
}
