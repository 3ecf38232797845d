// Ops.HostOfDropped (src/IlgpuVit/Kernels/HostSearch.cs): each dropped token's host is the kept row
// 1..K with the highest similarity (CLS, row 0, never hosts, even when it scores highest), ties to the
// lower row, and best is that similarity. Quantised similarities make ties common.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels;

public class HostSearchTests
{
    private static void Run(Device device, float[] similarity, int batch, int dropped, int rows, string what)
    {
        var hosts = new int[batch * dropped];
        var best = new double[batch * dropped];
        for (int j = 0; j < hosts.Length; j++)
        {
            int host = 1;
            for (int i = 2; i < rows; i++)
                if (similarity[j * rows + i] > similarity[j * rows + host]) host = i;   // strict: ties keep the lower row
            hosts[j] = host;
            best[j] = similarity[j * rows + host];
        }
        using var ts = device.FromArray(similarity, batch, dropped, rows);
        using var th = Tensor<int>.FromArray(device, Enumerable.Repeat(-7, batch * dropped).ToArray(), batch, dropped);
        using var tb = device.Zeros(batch, dropped);
        Ops.HostOfDropped(ts, th, tb);
        Check.Equal(th.ToArray(), hosts, $"hosts {what} ({batch}, {dropped}, {rows})");
        Check.Close(tb.ToArray(), best, 0, 0, $"best {what} ({batch}, {dropped}, {rows})");
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Host_is_the_first_best_kept_row_and_never_cls(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        foreach (var (batch, dropped, rows) in new[] { (1, 1, 2), (2, 7, 3), (3, 31, 33), (2, 32, 17), (2, 98, 99), (1, 1, 197), (2, 33, 32) })
        {
            var distinct = TestData.Uniform(batch + dropped + rows, batch * dropped * rows);
            var tied = TopKTests.Quantised(dropped * rows, batch * dropped * rows);
            foreach (var s in new[] { distinct, tied })
                for (int j = 0; j < batch * dropped; j++) s[j * rows] = 2f;   // CLS scores above everything
            Run(device, distinct, batch, dropped, rows, "distinct");
            Run(device, tied, batch, dropped, rows, "tied");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Equal_rows_pick_the_lowest_kept_row(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        float[] similarity =
        [
            0.9f, 0.5f, 0.5f, 0.5f,     // all tied: row 1
            0.1f, -0.2f, 0.3f, 0.3f,    // tie of rows 2 and 3: row 2
            1f, -1f, -1f, -0.5f,        // all negative: the largest, row 3
        ];
        using var ts = device.FromArray(similarity, 1, 3, 4);
        using var th = Tensor<int>.Zeros(device, 1, 3);
        using var tb = device.Zeros(1, 3);
        Ops.HostOfDropped(ts, th, tb);
        th.ToArray().Should().Equal(1, 2, 3);
        tb.ToArray().Should().Equal(0.5f, 0.3f, -0.5f);
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var onlyCls = device.Zeros(2, 3, 1);
        using var similarity = device.Zeros(2, 3, 4);
        using var hosts = Tensor<int>.Zeros(device, 2, 3);
        using var best = device.Zeros(2, 3);
        using var wrongBest = device.Zeros(2, 4);
        var noKept = () => Ops.HostOfDropped(onlyCls, hosts, best);
        noKept.Should().Throw<ShapeMismatchException>().WithMessage("HostOfDropped: similarity has shape (2, 3, 1); it needs (B, D, K + 1) with K ≥ 1.");
        var badBest = () => Ops.HostOfDropped(similarity, hosts, wrongBest);
        badBest.Should().Throw<ShapeMismatchException>().WithMessage("HostOfDropped: best has shape (2, 4), expected (2, 3).");
    }
}
