using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class GatherRowsTests
{
    // (B, T, K, C): odd and round sizes; K > T repeats rows.
    private static readonly (int B, int T, int K, int C)[] Shapes =
        [(1, 1, 1, 1), (2, 7, 3, 7), (3, 31, 31, 33), (2, 32, 16, 32), (2, 197, 98, 64), (1, 385, 197, 385), (2, 33, 40, 31)];

    private static int[] Indices(int seed, int batch, int kept, int tokens)
    {
        var random = new Random(seed);
        var index = new int[batch * kept];
        for (int i = 0; i < index.Length; i++) index[i] = random.Next(tokens);
        return index;
    }

    private static double[] GatherReference(float[] x, int[] index, int batch, int tokens, int kept, int channels)
    {
        var y = new double[batch * kept * channels];
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < kept; k++)
            {
                int t = index[b * kept + k];
                if (t < 0 || t >= tokens) continue;   // out of range: zeros
                for (int c = 0; c < channels; c++) y[(b * kept + k) * channels + c] = x[(b * tokens + t) * channels + c];
            }
        return y;
    }

    private static double[] ScatterReference(float[] x, int[] index, float[] prior, int batch, int tokens, int kept, int channels, bool accumulate)
    {
        var y = prior.ToDouble();
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < kept; k++)
            {
                int t = index[b * kept + k];
                if (t < 0 || t >= tokens) continue;   // out of range: skipped
                for (int c = 0; c < channels; c++)
                {
                    int d = (b * tokens + t) * channels + c;
                    y[d] = (accumulate ? y[d] : 0) + x[(b * kept + k) * channels + c];
                }
            }
        return y;
    }

    private static void RunGather(Device device, int batch, int tokens, int kept, int channels, int[] index)
    {
        var x = TestData.Uniform(batch * 7 + tokens + channels, batch * tokens * channels);
        using var tx = device.FromArray(x, batch, tokens, channels);
        using var ti = Tensor<int>.FromArray(device, index, batch, kept);
        using var ty = Tensor<float>.FromArray(device, TestData.Uniform(5, batch * kept * channels), batch, kept, channels);
        Ops.GatherRows(tx, ti, ty);
        Check.Close(ty.ToArray(), GatherReference(x, index, batch, tokens, kept, channels), 0, 0, $"gather ({batch}, {tokens}, {kept}, {channels})");
    }

    private static void RunScatter(Device device, int batch, int tokens, int kept, int channels, int[] index, bool accumulate)
    {
        var x = TestData.Uniform(batch * 11 + kept + channels, batch * kept * channels);
        var prior = TestData.Uniform(tokens + 3, batch * tokens * channels);
        using var tx = device.FromArray(x, batch, kept, channels);
        using var ti = Tensor<int>.FromArray(device, index, batch, kept);
        using var ty = device.FromArray(prior, batch, tokens, channels);
        Ops.ScatterRows(tx, ti, ty, accumulate);
        Check.Close(ty.ToArray(), ScatterReference(x, index, prior, batch, tokens, kept, channels, accumulate), 1e-6, 1e-6,
            $"scatter ({batch}, {tokens}, {kept}, {channels}, accumulate {accumulate})");
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gather_matches_reference_on_odd_and_round_shapes(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (b, t, k, c) in Shapes)
            RunGather(device, b, t, k, c, Indices(b + t + k, b, k, t));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Scatter_with_repeated_indices_lets_the_last_win_or_adds_in_order(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (b, t, k, c) in Shapes)
        {
            var index = Indices(b * t + k, b, k, t);   // random: repeats some rows and misses others
            RunScatter(device, b, t, k, c, index, accumulate: false);
            RunScatter(device, b, t, k, c, index, accumulate: true);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Out_of_range_indices_gather_zeros_and_scatter_nothing(string backend)
    {
        var device = Backends.Get(backend);
        int batch = 2, tokens = 9, kept = 5, channels = 33;
        int[] index = [0, -1, 9, 4, int.MaxValue, int.MinValue, 8, 8, 100, 3];
        RunGather(device, batch, tokens, kept, channels, index);
        RunScatter(device, batch, tokens, kept, channels, index, accumulate: false);
        RunScatter(device, batch, tokens, kept, channels, index, accumulate: true);
    }

    [Fact]
    public void Gpu_paths_with_one_channel_per_thread_match_on_the_group_simulator()
    {
        var device = Backends.GpuSimulator;
        var index = Indices(3, 2, 13, 17);
        RunGather(device, 2, 17, 13, 33, index);
        RunScatter(device, 2, 17, 13, 33, index, accumulate: false);
        RunScatter(device, 2, 17, 13, 33, index, accumulate: true);
    }

    [Fact]
    public void Fast_row_copy_matches_its_portable_twin()
    {
        var device = Backends.Cpu;
        int batch = 3, tokens = 37, kept = 21, channels = 45;
        var x = TestData.Uniform(1, batch * tokens * channels);
        var index = Indices(2, batch, kept, tokens);
        var prior = TestData.Uniform(3, batch * kept * channels);
        using var tx = device.FromArray(x, batch, tokens, channels);
        using var ti = Tensor<int>.FromArray(device, index, batch, kept);
        using var fast = device.FromArray(prior, batch, kept, channels);
        using var twin = device.FromArray(prior, batch, kept, channels);
        Ops.GatherRows(tx, ti, fast);
        // Gather on the CPU is one index per output row (b, k): the twin does the same rows.
        device.Synchronize();
        for (int row = 0; row < batch * kept; row++)
            Ops.ScaleRowPortable(tx.View, twin.View, (row / kept * tokens + index[row]) * channels, row * channels, channels, 1f, 0);
        Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 0, 0, "gather: fast vs twin");

        // Accumulating copies: scatter-add the gathered rows back, one destination row (b, t) per index.
        using var back = device.FromArray(x, batch, tokens, channels);
        using var backTwin = device.FromArray(x, batch, tokens, channels);
        Ops.ScatterRows(fast, ti, back, accumulate: true);
        device.Synchronize();
        for (int row = 0; row < batch * tokens; row++)
            for (int k = 0; k < kept; k++)
                if (index[row / tokens * kept + k] == row % tokens)
                    Ops.ScaleRowPortable(fast.View, backTwin.View, (row / tokens * kept + k) * channels, row * channels, channels, 1f, 1);
        Check.Close(back.ToArray(), backTwin.ToArray().ToDouble(), 0, 0, "scatter-add: fast vs twin");
    }

    [Fact]
    public void Rejects_mismatched_shapes_naming_them()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(2, 10, 8);
        using var index = Tensor<int>.Zeros(device, 2, 4);
        using var wrongIndex = Tensor<int>.Zeros(device, 3, 4);
        using var y = device.Zeros(2, 5, 8);
        using var kept = device.Zeros(2, 4, 8);
        using var narrow = device.Zeros(2, 10, 7);

        var gatherBadY = () => Ops.GatherRows(x, index, y);
        gatherBadY.Should().Throw<ShapeMismatchException>().WithMessage("GatherRows: y has shape (2, 5, 8), expected (2, 4, 8).");
        var gatherBadIndex = () => Ops.GatherRows(x, wrongIndex, kept);
        gatherBadIndex.Should().Throw<ShapeMismatchException>().WithMessage("*(2, 10, 8)*(3, 4)*");
        var scatterBadIndex = () => Ops.ScatterRows(kept, wrongIndex, x, accumulate: false);
        scatterBadIndex.Should().Throw<ShapeMismatchException>().WithMessage("ScatterRows: index has shape (3, 4), expected (2, 4).");
        var scatterBadY = () => Ops.ScatterRows(kept, index, narrow, accumulate: true);
        scatterBadY.Should().Throw<ShapeMismatchException>().WithMessage("*(2, 10, 7)*(2, 4, 8)*");
    }
}
