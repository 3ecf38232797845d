// Batch, the one mini-batch type every loader fills: its count stays within its capacity, an image is a
// (C, H, W) view, and a clone keeps images, labels, paths and position when the loader reuses the original.
using FluentAssertions;
using IlgpuVit.Data;

namespace IlgpuVit.Tests.Data;

public class BatchTests
{
    [Fact]
    public void Count_stays_within_the_capacity()
    {
        var batch = new Batch(4, 3, 2, 5);
        batch.Count = 4;
        batch.ImageSpan.Length.Should().Be(4 * 3 * 2 * 5);
        var act = () => batch.Count = 5;
        act.Should().Throw<ArgumentOutOfRangeException>();
        act = () => batch.Count = -1;
        act.Should().Throw<ArgumentOutOfRangeException>();
        batch.Paths.Should().HaveCount(4).And.OnlyContain(p => p.Length == 0, "images held in memory have no file");
    }

    [Fact]
    public void A_clone_keeps_what_the_loader_overwrites()
    {
        var batch = new Batch(2, 1, 1, 3) { Count = 1, Epoch = 2, Index = 7 };
        batch.Image(1).Fill(4f);
        batch.Labels[0] = 9;
        batch.Paths[0] = "a.png";
        var copy = batch.Clone();
        batch.Image(1).Clear();
        (batch.Labels[0], batch.Paths[0]) = (0, "");
        (copy.Count, copy.Epoch, copy.Index, copy.Labels[0], copy.Paths[0]).Should().Be((1, 2, 7, 9, "a.png"));
        copy.Image(1).ToArray().Should().Equal(4f, 4f, 4f);
        Action outside = () => batch.Image(2);
        outside.Should().Throw<ArgumentOutOfRangeException>();
    }
}
