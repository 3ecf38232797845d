using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Data;

public class DataLoaderTests
{
    private static readonly LoaderOptions Training = new()
    {
        BatchSize = 32, Shuffle = true, Seed = 7, Augmentation = new Augmentation(padding: 2, horizontalFlip: true),
    };

    /// <summary>Copies of every batch of an epoch (the loader reuses its arrays).</summary>
    private static List<Batch> Collect(DataLoader loader, int epoch, int startBatch = 0) =>
        loader.Epoch(epoch, startBatch).Select(b => b.Clone()).ToList();

    private static void SameBatches(IReadOnlyList<Batch> actual, IReadOnlyList<Batch> expected)
    {
        actual.Should().HaveCount(expected.Count);
        for (int k = 0; k < expected.Count; k++)
        {
            (actual[k].Epoch, actual[k].Index, actual[k].Count).Should().Be((expected[k].Epoch, expected[k].Index, expected[k].Count));
            actual[k].Labels.Should().Equal(expected[k].Labels, $"batch {k} labels");
            actual[k].Images.Should().Equal(expected[k].Images, $"batch {k} images");
        }
    }

    [Theory]
    [InlineData(197, 32, false)]
    [InlineData(197, 32, true)]
    [InlineData(33, 1, false)]
    [InlineData(1, 7, true)]
    public void Every_image_appears_once_per_epoch(int count, int batchSize, bool prefetch)
    {
        var data = DataFiles.Indexed(count, 3, 7, 5);
        var loader = new DataLoader(data, new LoaderOptions { BatchSize = batchSize, Shuffle = true, Seed = 3, Prefetch = prefetch });
        loader.BatchesPerEpoch.Should().Be((count + batchSize - 1) / batchSize);
        var seen = new List<int>();
        foreach (var batch in loader.Epoch(0))
            for (int i = 0; i < batch.Count; i++)
            {
                int index = batch.Labels[i];
                seen.Add(index);
                // Without augmentation or normalisation each image is its bytes over 255.
                Check.Close(batch.Images.AsSpan(i * 105, 105), data.Image(index).ToArray().Select(b => b / 255.0).ToArray(),
                    rtol: 1e-6, atol: 1e-7, what: $"image {index}");
            }
        seen.Should().BeEquivalentTo(Enumerable.Range(0, count));
        if (count > 1) seen.Should().NotEqual(Enumerable.Range(0, count), "the order is shuffled");
    }

    [Fact]
    public void Without_shuffle_the_order_is_the_data_set_order()
    {
        var loader = new DataLoader(DataFiles.Indexed(31, 1, 2, 2), new LoaderOptions { BatchSize = 8 });
        loader.Order(5).Should().Equal(Enumerable.Range(0, 31));
        loader.Epoch(5).SelectMany(b => b.LabelSpan.ToArray()).Should().Equal(Enumerable.Range(0, 31));
    }

    [Fact]
    public void The_same_seed_gives_the_same_batches_and_another_seed_or_epoch_differs()
    {
        var data = DataFiles.Indexed(197, 1, 7, 7);
        var first = Collect(new DataLoader(data, Training), 3);
        var again = Collect(new DataLoader(data, Training), 3);
        SameBatches(again, first);

        var otherSeed = Collect(new DataLoader(data, Training with { Seed = 8 }), 3);
        otherSeed[0].Labels.Should().NotEqual(first[0].Labels);
        var loader = new DataLoader(data, Training);
        loader.Order(4).Should().NotEqual(loader.Order(3));
        Collect(loader, 4)[0].Labels.Should().NotEqual(first[0].Labels);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(false, 4)]
    [InlineData(true, 3)]
    [InlineData(true, 6)]
    [InlineData(true, 7)]
    public void Resuming_mid_epoch_gives_the_uninterrupted_runs_batches(bool prefetch, int startBatch)
    {
        var data = DataFiles.Indexed(197, 3, 7, 5);
        var options = Training with { Prefetch = prefetch, Normalization = new Normalization([0.1f, 0.2f, 0.3f], [0.4f, 0.5f, 0.6f]) };
        var uninterrupted = Collect(new DataLoader(data, options), 2);
        uninterrupted.Should().HaveCount(7);
        // A fresh loader, as after a restart from a checkpoint.
        var resumed = Collect(new DataLoader(data, options), 2, startBatch);
        SameBatches(resumed, uninterrupted.Skip(startBatch).ToList());
    }

    [Fact]
    public void Prefetch_gives_the_same_batches_as_no_prefetch()
    {
        var data = DataFiles.Indexed(197, 1, 28, 28);
        var plain = new DataLoader(data, Training);
        var prefetched = new DataLoader(data, Training with { Prefetch = true });
        for (int epoch = 0; epoch < 3; epoch++)
            SameBatches(Collect(prefetched, epoch), Collect(plain, epoch));
    }

    [Fact]
    public void A_prefetched_batch_is_not_overwritten_before_the_next_MoveNext()
    {
        var data = DataFiles.Indexed(197, 1, 28, 28);
        var options = Training with { BatchSize = 16 };
        var expected = Collect(new DataLoader(data, options), 0);
        int k = 0;
        foreach (var batch in new DataLoader(data, options with { Prefetch = true }).Epoch(0))
        {
            Thread.Sleep(5);   // the background task fills the next batch meanwhile
            SameBatches([batch], [expected[k++]]);
        }
        k.Should().Be(expected.Count);
    }

    [Fact]
    public void Stopping_early_with_prefetch_leaves_the_loader_usable()
    {
        var data = DataFiles.Indexed(197, 1, 7, 7);
        var loader = new DataLoader(data, Training with { Prefetch = true });
        var expected = Collect(new DataLoader(data, Training), 1);
        foreach (var _ in loader.Epoch(1).Take(2)) { }
        SameBatches(Collect(loader, 1), expected);
    }

    [Fact]
    public void The_last_batch_is_short_unless_dropped()
    {
        var data = DataFiles.Indexed(197, 1, 3, 3);
        var keep = new DataLoader(data, new LoaderOptions { BatchSize = 32, Shuffle = true });
        keep.BatchesPerEpoch.Should().Be(7);
        var batches = Collect(keep, 0);
        batches.Select(b => b.Count).Should().Equal(32, 32, 32, 32, 32, 32, 5);
        var last = batches[^1];
        last.Capacity.Should().Be(32);
        last.LabelSpan.Length.Should().Be(5);
        last.ImageSpan.Length.Should().Be(5 * 9);
        last.Images.AsSpan(5 * 9).ToArray().Should().OnlyContain(v => v == 0f, "the tail holds no stale images");
        last.Labels.AsSpan(5).ToArray().Should().OnlyContain(v => v == 0);

        var drop = new DataLoader(data, new LoaderOptions { BatchSize = 32, Shuffle = true, DropLast = true });
        drop.BatchesPerEpoch.Should().Be(6);
        Collect(drop, 0).Should().OnlyContain(b => b.Count == 32).And.HaveCount(6);
    }

    [Fact]
    public void Normalisation_is_applied_per_channel()
    {
        var data = DataFiles.Indexed(7, 3, 5, 5);
        float[] mean = [0.4914f, 0.4822f, 0.4465f], std = [0.2470f, 0.2435f, 0.2616f];
        var loader = new DataLoader(data, new LoaderOptions { BatchSize = 7, Normalization = new Normalization(mean, std) });
        var batch = loader.Epoch(0).Single();
        var expected = new double[7 * 75];
        for (int i = 0; i < 7 * 75; i++)
        {
            int c = i / 25 % 3;
            expected[i] = (data.Pixels[i] / 255.0 - mean[c]) / std[c];
        }
        Check.Close(batch.ImageSpan, expected, rtol: 1e-5, atol: 1e-5);
    }

    [Fact]
    public void Augmented_images_are_crops_and_flips_of_their_source()
    {
        var data = DataFiles.Indexed(197, 1, 7, 7);
        var loader = new DataLoader(data, Training);
        var flips = 0;
        var offsets = new HashSet<(int, int)>();
        foreach (var batch in loader.Epoch(0))
            for (int i = 0; i < batch.Count; i++)
            {
                var image = data.Image(batch.Labels[i]).ToArray();
                var output = batch.Images.AsSpan(i * 49, 49).ToArray();
                var match = (from top in Enumerable.Range(0, 5)
                             from left in Enumerable.Range(0, 5)
                             from flip in new[] { false, true }
                             where AugmentationTests.Reference(image, 1, 7, 7, 2, top, left, flip)
                                 .Zip(output).All(p => Math.Abs(p.First - p.Second) < 1e-6)
                             select (top, left, flip)).ToList();
                match.Should().NotBeEmpty($"image {batch.Labels[i]} must be a padded crop, maybe flipped");
                flips += match[0].flip ? 1 : 0;
                offsets.Add((match[0].top, match[0].left));
            }
        flips.Should().BeInRange(60, 137, "about half of 197 images are flipped");
        offsets.Count.Should().BeGreaterThan(20, "the crop offsets vary over the 25 possible");
    }

    [Fact]
    public void A_repeated_epoch_allocates_almost_nothing()
    {
        var loader = new DataLoader(DataFiles.Indexed(197, 1, 28, 28), Training);
        foreach (var _ in loader.Epoch(0)) { }
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var _ in loader.Epoch(1)) { }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.Should().BeLessThan(1024, "buffers and the order array are reused across epochs");
    }

    [Fact]
    public void Bad_settings_and_arguments_are_rejected()
    {
        var data = DataFiles.Indexed(31, 3, 7, 7);
        var zero = () => new DataLoader(data, new LoaderOptions { BatchSize = 0 });
        zero.Should().Throw<ArgumentException>().WithMessage("Batch size 0 must be at least 1*");
        var channels = () => new DataLoader(data, new LoaderOptions { Normalization = FashionMnist.Normalization });
        channels.Should().Throw<ArgumentException>().WithMessage("Normalization has 1 channels but the images have 3*");
        var padding = () => new DataLoader(data, new LoaderOptions { Augmentation = new Augmentation(padding: 7) });
        padding.Should().Throw<ArgumentException>().WithMessage("Crop padding 7 must be smaller than the image (7 x 7)*");
        var nothing = () => new DataLoader(data, new LoaderOptions { BatchSize = 32, DropLast = true });
        nothing.Should().Throw<ArgumentException>().WithMessage("*leaves no batch of the 31 images*");

        var loader = new DataLoader(data, new LoaderOptions { BatchSize = 8 });
        var start = () => loader.Epoch(0, 5);
        start.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[0, 4]*");
        var epoch = () => loader.Epoch(-1);
        epoch.Should().Throw<ArgumentOutOfRangeException>();
        loader.Epoch(0, 4).Should().BeEmpty();
    }

    [Fact]
    public void Erasing_changes_each_image_only_inside_one_rectangle_set_to_zero()
    {
        var data = DataFiles.Indexed(64, 3, 12, 10);
        var plain = Collect(new DataLoader(data, new LoaderOptions { BatchSize = 16, Shuffle = true, Seed = 5 }), 1);
        var erased = Collect(new DataLoader(data, new LoaderOptions { BatchSize = 16, Shuffle = true, Seed = 5,
            Augmentation = new Augmentation(erasing: 1) }), 1);
        int changedImages = 0, size = 3 * 12 * 10;
        for (int k = 0; k < plain.Count; k++)
        {
            erased[k].Labels.Should().Equal(plain[k].Labels, "erasing leaves the order alone");
            for (int i = 0; i < plain[k].Count; i++)
            {
                var changed = Enumerable.Range(0, size).Where(p => erased[k].Images[i * size + p] != plain[k].Images[i * size + p]).ToList();
                if (changed.Count == 0) continue;
                changedImages++;
                changed.Should().OnlyContain(p => erased[k].Images[i * size + p] == 0f);
                // The changed pixels lie in one rectangle, the same in every channel.
                var rows = changed.Select(p => p % 120 / 10).ToList();
                var cols = changed.Select(p => p % 10).ToList();
                int h = rows.Max() - rows.Min() + 1, w = cols.Max() - cols.Min() + 1;
                changed.Count.Should().BeLessThanOrEqualTo(3 * h * w);
            }
        }
        changedImages.Should().BeGreaterThan(40, "with probability 1 nearly every image is erased");
    }
}
