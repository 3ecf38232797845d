// Token plans (Ops.IndexPlan, CombineRows, CombineRowsBackward; src/IlgpuVit/Kernels/TokenReduction/TokenPlan.cs)
// against float64 references written from the file's header: the index is a CSR of each output
// row's sources in token order, sizes sum over sources, normalisation divides by the row's weight
// sum (zero-sum rows left alone); the combine is Σ w x; its backward is its adjoint.
// Plans are random: every token to a random row or dropped (−1, or a row outside [0, M), which
// counts as dropped), and rows m ≡ 2 (mod 5) never receive a token, so some rows are empty.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public class TokenPlanTests
{
    // (B, T, M, C): odd and round sizes; M > T leaves rows empty, M = 1 sends every kept token to one row.
    private static readonly (int B, int T, int M, int C)[] Shapes =
        [(1, 1, 1, 1), (2, 7, 3, 7), (3, 31, 12, 33), (2, 32, 16, 32), (2, 197, 98, 64), (1, 33, 40, 31), (2, 197, 1, 7)];

    private static int[] RandomDestinations(int seed, int batch, int tokens, int outputs)
    {
        var random = new Random(seed);
        var destination = new int[batch * tokens];
        for (int i = 0; i < destination.Length; i++)
        {
            int roll = random.Next(25);
            if (roll == 0) destination[i] = random.Next(2) == 0 ? outputs + random.Next(3) : -2 - random.Next(3);   // out of range
            else if (roll < 5) destination[i] = -1;
            else
            {
                int m = random.Next(outputs);
                destination[i] = m % 5 == 2 ? -1 : m;
            }
        }
        return destination;
    }

    private static bool Sent(int destination, int outputs) => destination >= 0 && destination < outputs;

    /// <summary>Offsets (B, M + 1) and each row's sources in token order, from the plan's definition.</summary>
    private static (int[] Offsets, List<int>[] Sources) IndexReference(int[] destination, int batch, int tokens, int outputs)
    {
        var offsets = new int[batch * (outputs + 1)];
        var sources = new List<int>[batch * outputs];
        for (int b = 0; b < batch; b++)
            for (int m = 0; m < outputs; m++)
            {
                sources[b * outputs + m] = Enumerable.Range(0, tokens).Where(t => destination[b * tokens + t] == m).ToList();
                offsets[b * (outputs + 1) + m + 1] = offsets[b * (outputs + 1) + m] + sources[b * outputs + m].Count;
            }
        return (offsets, sources);
    }

    /// <summary>Runs IndexPlan; returns offsets, sources, new sizes and the (possibly normalised) weights.</summary>
    private static (int[] Offsets, int[] Sources, float[] NewSizes, float[] Weight) Index(Device device, int[] destination, float[] weight,
        float[] sizes, int batch, int tokens, int outputs, bool normalize)
    {
        using var td = Tensor<int>.FromArray(device, destination, batch, tokens);
        using var tw = device.FromArray(weight, batch, tokens);
        using var ts = device.FromArray(sizes, batch, tokens);
        using var offsets = Tensor<int>.FromArray(device, Enumerable.Repeat(-99, batch * (outputs + 1)).ToArray(), batch, outputs + 1);
        using var sources = Tensor<int>.FromArray(device, Enumerable.Repeat(-99, batch * tokens).ToArray(), batch, tokens);
        using var newSizes = device.FromArray(TestData.Uniform(3, batch * outputs, 9f), batch, outputs);
        Ops.IndexPlan(td, tw, ts, normalize, offsets, sources, newSizes);
        return (offsets.ToArray(), sources.ToArray(), newSizes.ToArray(), tw.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Index_is_a_csr_of_sources_in_token_order_with_summed_sizes_and_normalised_weights(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, outputs, _) in Shapes)
            foreach (bool normalize in new[] { false, true })
            {
                string what = $"({batch}, {tokens} -> {outputs}, normalize {normalize})";
                var destination = RandomDestinations(batch * 31 + tokens + outputs, batch, tokens, outputs);
                var weight = TokenPlanFixtures.Positive(tokens + 1, batch * tokens);
                var sizes = TokenPlanFixtures.Positive(tokens + 2, batch * tokens, 1f, 4f);
                var (offsets, sources, newSizes, normalised) = Index(device, destination, weight, sizes, batch, tokens, outputs, normalize);

                var (expectedOffsets, expectedSources) = IndexReference(destination, batch, tokens, outputs);
                Check.Equal(offsets, expectedOffsets, $"offsets {what}");
                var expectedSizes = new double[batch * outputs];
                var expectedWeight = weight.ToDouble();
                for (int b = 0; b < batch; b++)
                    for (int m = 0; m < outputs; m++)
                    {
                        var rowSources = expectedSources[b * outputs + m];
                        Check.Equal(sources.AsSpan(b * tokens + offsets[b * (outputs + 1) + m], rowSources.Count), rowSources.ToArray(),
                            $"sources of row {m}, image {b} {what}");
                        expectedSizes[b * outputs + m] = rowSources.Sum(t => (double)sizes[b * tokens + t]);
                        double total = rowSources.Sum(t => (double)weight[b * tokens + t]);
                        if (normalize && rowSources.Count > 0)
                        {
                            foreach (int t in rowSources) expectedWeight[b * tokens + t] /= total;
                            rowSources.Sum(t => (double)normalised[b * tokens + t]).Should().BeApproximately(1, 1e-5, $"row {m} sums to 1 {what}");
                        }
                    }
                Check.Close(newSizes, expectedSizes, 1e-5, 1e-6, $"new sizes {what}");
                // Dropped tokens keep their weights exactly; without normalize nothing changes at all.
                Check.Close(normalised, expectedWeight, normalize ? 1e-5 : 0, 0, $"weights {what}");
            }
    }

    /// <summary>A random plan of positive weights and sizes for one of <see cref="Shapes"/>, indexed on the CPU with normalize.</summary>
    private static (int[] Destination, float[] Weight, float[] Sizes, (int[] Offsets, int[] Sources, float[] NewSizes, float[] Weight) Indexed)
        IndexedPlan(int seed, int batch, int tokens, int outputs)
    {
        var destination = RandomDestinations(seed, batch, tokens, outputs);
        var weight = TokenPlanFixtures.Positive(tokens + 3, batch * tokens);
        var sizes = TokenPlanFixtures.Positive(tokens + 4, batch * tokens, 1f, 4f);
        return (destination, weight, sizes, Index(Backends.Cpu, destination, weight, sizes, batch, tokens, outputs, normalize: true));
    }

    [Fact]
    public void The_cpu_index_body_agrees_bit_for_bit_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        foreach (var (batch, tokens, outputs, _) in Shapes)
        {
            var (destination, weight, sizes, (offsets, sources, newSizes, normalised)) = IndexedPlan(batch * 7 + tokens, batch, tokens, outputs);
            using var td = Tensor<int>.FromArray(device, destination, batch, tokens);
            using var tw = device.FromArray(weight, batch, tokens);
            using var ts = device.FromArray(sizes, batch, tokens);
            using var twinOffsets = Tensor<int>.FromArray(device, new int[batch * (outputs + 1)], batch, outputs + 1);
            using var twinSources = Tensor<int>.FromArray(device, Enumerable.Repeat(-99, batch * tokens).ToArray(), batch, tokens);
            using var twinSizes = device.Zeros(batch, outputs);
            for (int b = 0; b < batch; b++)
                Ops.IndexPlanImagePortable(b, td.View, tw.View, ts.View, twinOffsets.View, twinSources.View, twinSizes.View, tokens, outputs, 1);
            string what = $"({batch}, {tokens} -> {outputs})";
            twinOffsets.ToArray().Should().Equal(offsets, what);
            twinSources.ToArray().Should().Equal(sources, what);
            twinSizes.ToArray().Should().Equal(newSizes, what);
            tw.ToArray().Should().Equal(normalised, what);
        }
    }

    [Fact]
    public void The_cpu_combine_bodies_agree_bit_for_bit_with_their_portable_twins_and_with_each_other()
    {
        // CombineImage (an image's tokens in order) against its portable twin and against CombineRow (a row's sources in
        // order, as CombineRows runs them), rows without sources and dropped tokens included.
        var device = Backends.Cpu;
        foreach (var (batch, tokens, outputs, channels) in Shapes)
        {
            var (destination, _, _, (offsets, sources, _, normalised)) = IndexedPlan(batch * 11 + tokens, batch, tokens, outputs);
            using var tx = device.FromArray(TestData.Uniform(tokens + channels, batch * tokens * channels, 2f), batch, tokens, channels);
            using var td = Tensor<int>.FromArray(device, destination, batch, tokens);
            using var to = Tensor<int>.FromArray(device, offsets, batch, outputs + 1);
            using var ts = Tensor<int>.FromArray(device, sources, batch, tokens);
            using var tw = device.FromArray(normalised, batch, tokens);
            float[] Combine(Action<Tensor<float>> body)
            {
                using var y = device.FromArray(Enumerable.Repeat(float.NaN, batch * outputs * channels).ToArray(), batch, outputs, channels);
                body(y);
                return y.ToArray();
            }
            var twin = Combine(y =>
            {
                for (int b = 0; b < batch; b++) Ops.CombineImagePortable(tx.View, td.View, to.View, ts.View, tw.View, y.View, b, tokens, outputs, channels);
            });
            var rows = Combine(y =>
            {
                for (int b = 0; b < batch; b++)
                    for (int k = 0; k < outputs; k++) Ops.CombineRow(tx.View, to.View, ts.View, tw.View, y.View, b, k, tokens, outputs, channels, 0, channels);
            });
            var images = Combine(y =>
            {
                for (int b = 0; b < batch; b++) Ops.CombineImage(tx.View, td.View, to.View, ts.View, tw.View, y.View, b, tokens, outputs, channels);
            });
            string what = $"({batch}, {tokens} -> {outputs}, {channels})";
            twin.Should().NotContain(float.NaN, $"every output row is written {what}");
            rows.Should().Equal(twin, $"row by row {what}");
            images.Should().Equal(twin, $"token by token {what}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Normalize_leaves_a_row_whose_weights_sum_to_zero_alone(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        // Row 0 sums to 0 (±1.5), row 1 to 0.75, row 2 is all zeros, row 3 is empty; token 6 is dropped.
        int[] destination = [0, 1, 0, 1, 2, 2, -1];
        float[] weight = [1.5f, 0.5f, -1.5f, 0.25f, 0f, 0f, 7f];
        float[] sizes = [1f, 2f, 3f, 4f, 5f, 6f, 7f];
        var (offsets, sources, newSizes, normalised) = Index(device, destination, weight, sizes, 1, 7, 4, normalize: true);
        offsets.Should().Equal(0, 2, 4, 6, 6);
        sources.Take(6).Should().Equal(0, 2, 1, 3, 4, 5);
        newSizes.Should().Equal(4f, 6f, 11f, 0f);
        Check.Close(normalised, [1.5, 2.0 / 3, -1.5, 1.0 / 3, 0, 0, 7], 1e-6, 0, "weights");
        normalised.Should().OnlyContain(w => float.IsFinite(w), "a zero-sum row must not be divided by 0");
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Combine_matches_the_float64_weighted_sum_and_empty_rows_are_zero(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, outputs, channels) in Shapes)
        {
            string what = $"({batch}, {tokens} -> {outputs}, {channels})";
            var destination = RandomDestinations(batch + tokens * 7 + outputs, batch, tokens, outputs);
            var weight = TestData.Uniform(tokens + 5, batch * tokens, 2f);   // signed: the sum is a plain linear map
            var x = TestData.Uniform(channels + tokens, batch * tokens * channels);
            var (offsets, sources, _, _) = Index(device, destination, weight, new float[batch * tokens], batch, tokens, outputs, false);
            using var tx = device.FromArray(x, batch, tokens, channels);
            using var to = Tensor<int>.FromArray(device, offsets, batch, outputs + 1);
            using var ts = Tensor<int>.FromArray(device, sources, batch, tokens);
            using var tw = device.FromArray(weight, batch, tokens);
            using var ty = device.FromArray(TestData.Uniform(11, batch * outputs * channels, 5f), batch, outputs, channels);   // stale contents
            Ops.CombineRows(tx, to, ts, tw, ty);
            var y = ty.ToArray();
            Check.Close(y, TokenPlanFixtures.Combine(x, destination, weight, batch, tokens, outputs, channels), 1e-5, 2e-5, $"combine {what}");
            for (int b = 0; b < batch; b++)
                for (int m = 0; m < outputs; m++)
                    if (offsets[b * (outputs + 1) + m] == offsets[b * (outputs + 1) + m + 1])
                        y.AsSpan((b * outputs + m) * channels, channels).ToArray().Should().OnlyContain(v => v == 0f, $"row {m} of image {b} is empty {what}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Combine_copies_one_source_rows_of_weight_one_bit_for_bit(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, channels) in new[] { (1, 1, 1), (2, 7, 7), (3, 33, 31), (2, 32, 32), (1, 197, 197) })
        {
            // Each image sends a shuffled half of its tokens to distinct rows; the rest are dropped.
            var random = new Random(tokens * channels);
            int outputs = (tokens + 1) / 2;
            var destination = new int[batch * tokens];
            for (int b = 0; b < batch; b++)
            {
                var order = Enumerable.Range(0, tokens).OrderBy(_ => random.Next()).ToArray();
                for (int k = 0; k < tokens; k++) destination[b * tokens + order[k]] = k < outputs ? k : -1;
            }
            // Values whose products and sums would round: large, tiny, and many significant bits.
            var x = TestData.Uniform(tokens + channels, batch * tokens * channels, 3e37f);
            for (int i = 0; i < x.Length; i += 3) x[i] = (float)(x[i] * 1e-67);
            var weight = Enumerable.Repeat(1f, batch * tokens).ToArray();
            var (offsets, sources, _, _) = Index(device, destination, weight, weight, batch, tokens, outputs, true);
            using var tx = device.FromArray(x, batch, tokens, channels);
            using var to = Tensor<int>.FromArray(device, offsets, batch, outputs + 1);
            using var ts = Tensor<int>.FromArray(device, sources, batch, tokens);
            using var tw = device.FromArray(weight, batch, tokens);
            using var ty = device.Zeros(batch, outputs, channels);
            Ops.CombineRows(tx, to, ts, tw, ty);
            var y = ty.ToArray();
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < tokens; t++)
                {
                    int m = destination[b * tokens + t];
                    if (m < 0) continue;
                    for (int c = 0; c < channels; c++)
                    {
                        float got = y[(b * outputs + m) * channels + c], want = x[(b * tokens + t) * channels + c];
                        BitConverter.SingleToInt32Bits(got).Should().Be(BitConverter.SingleToInt32Bits(want),
                            $"row {m} channel {c} of image {b} copies token {t} ({batch}, {tokens}, {channels}): got {got:G9}, want {want:G9}");
                    }
                }
        }
    }

    private static float[] Backward(Device device, float[] dy, int[] destination, float[] weight, float[] prior,
        int batch, int tokens, int outputs, int channels, bool accumulate)
    {
        using var tdy = device.FromArray(dy, batch, outputs, channels);
        using var td = Tensor<int>.FromArray(device, destination, batch, tokens);
        using var tw = device.FromArray(weight, batch, tokens);
        using var tdx = device.FromArray(prior, batch, tokens, channels);
        Ops.CombineRowsBackward(tdy, td, tw, tdx, accumulate);
        return tdx.ToArray();
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Backward_matches_float64_and_adds_to_or_overwrites_dx(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, outputs, channels) in Shapes)
            foreach (bool accumulate in new[] { false, true })
            {
                var destination = RandomDestinations(batch * 3 + tokens + channels, batch, tokens, outputs);
                var weight = TestData.Uniform(tokens + 9, batch * tokens, 2f);
                var dy = TestData.Uniform(channels + 17, batch * outputs * channels);
                var prior = TestData.Uniform(outputs + 19, batch * tokens * channels);
                var dx = Backward(device, dy, destination, weight, prior, batch, tokens, outputs, channels, accumulate);
                var expected = new double[dx.Length];
                for (int b = 0; b < batch; b++)
                    for (int t = 0; t < tokens; t++)
                    {
                        int m = destination[b * tokens + t], row = (b * tokens + t) * channels;
                        for (int c = 0; c < channels; c++)
                            expected[row + c] = (accumulate ? prior[row + c] : 0)
                                + (Sent(m, outputs) ? (double)weight[b * tokens + t] * dy[(b * outputs + m) * channels + c] : 0);
                    }
                Check.Close(dx, expected, 1e-6, 1e-6, $"dx ({batch}, {tokens} -> {outputs}, {channels}, accumulate {accumulate})");
            }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Backward_is_the_adjoint_of_combine(string backend)
    {
        // <dy, Combine(x)> = <Backward(dy), x> for every x and dy, in both modes (accumulate: minus the prior).
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, tokens, outputs, channels) in Shapes)
            foreach (bool accumulate in new[] { false, true })
            {
                var destination = RandomDestinations(batch + tokens + channels * 5, batch, tokens, outputs);
                var weight = TestData.Uniform(tokens + 23, batch * tokens, 2f);
                var x = TestData.Uniform(channels + 29, batch * tokens * channels);
                var dy = TestData.Uniform(outputs + 31, batch * outputs * channels);
                var prior = accumulate ? TestData.Uniform(37, batch * tokens * channels) : new float[batch * tokens * channels];
                var (offsets, sources, _, _) = Index(device, destination, weight, new float[batch * tokens], batch, tokens, outputs, false);
                using var tx = device.FromArray(x, batch, tokens, channels);
                using var to = Tensor<int>.FromArray(device, offsets, batch, outputs + 1);
                using var ts = Tensor<int>.FromArray(device, sources, batch, tokens);
                using var tw = device.FromArray(weight, batch, tokens);
                using var ty = device.Zeros(batch, outputs, channels);
                Ops.CombineRows(tx, to, ts, tw, ty);
                var dx = Backward(device, dy, destination, weight, prior, batch, tokens, outputs, channels, accumulate);

                double forward = FiniteDifference.Dot(dy.ToDouble(), ty.ToArray().ToDouble());
                double backward = FiniteDifference.Dot(dx.ToDouble(), x.ToDouble()) - FiniteDifference.Dot(prior.ToDouble(), x.ToDouble());
                // Rounding scale: Σ |w x dy| over the terms both sides add.
                double scale = 0;
                for (int b = 0; b < batch; b++)
                    for (int t = 0; t < tokens; t++)
                    {
                        int m = destination[b * tokens + t];
                        if (!Sent(m, outputs)) continue;
                        for (int c = 0; c < channels; c++)
                            scale += Math.Abs((double)weight[b * tokens + t] * x[(b * tokens + t) * channels + c] * dy[(b * outputs + m) * channels + c]);
                    }
                scale.Should().BePositive("the plan must send some token somewhere");
                backward.Should().BeApproximately(forward, 1e-5 * scale + 1e-6,
                    $"adjoint ({batch}, {tokens} -> {outputs}, {channels}, accumulate {accumulate})");
            }
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var destination = Tensor<int>.Zeros(device, 2, 7);
        using var weight = device.Zeros(2, 7);
        using var sizes = device.Zeros(2, 7);
        using var offsets = Tensor<int>.Zeros(device, 2, 4);
        using var sources = Tensor<int>.Zeros(device, 2, 7);
        using var newSizes = device.Zeros(2, 3);
        using var shortSizes = device.Zeros(2, 6);
        using var wideOffsets = Tensor<int>.Zeros(device, 2, 5);
        using var x = device.Zeros(2, 7, 5);
        using var y = device.Zeros(2, 3, 5);
        using var narrowY = device.Zeros(2, 3, 4);
        using var dx = device.Zeros(2, 7, 4);

        var badSizes = () => Ops.IndexPlan(destination, weight, shortSizes, true, offsets, sources, newSizes);
        badSizes.Should().Throw<ShapeMismatchException>().WithMessage("IndexPlan: sizes has shape (2, 6), expected (2, 7).");
        var badOffsets = () => Ops.IndexPlan(destination, weight, sizes, true, wideOffsets, sources, newSizes);
        badOffsets.Should().Throw<ShapeMismatchException>().WithMessage("IndexPlan: offsets has shape (2, 5), expected (2, 4).");
        var badY = () => Ops.CombineRows(x, offsets, sources, weight, narrowY);
        badY.Should().Throw<ShapeMismatchException>().WithMessage("CombineRows: y has shape (2, 3, 4), expected (2, 3, 5).");
        var badWeight = () => Ops.CombineRows(x, offsets, sources, shortSizes, y);
        badWeight.Should().Throw<ShapeMismatchException>().WithMessage("CombineRows: weight has shape (2, 6), expected (2, 7).");
        var badDx = () => Ops.CombineRowsBackward(y, destination, weight, dx, accumulate: false);
        badDx.Should().Throw<ShapeMismatchException>().WithMessage("CombineRowsBackward: *(2, 3, 5)*(2, 7, 4)*");
    }
}
