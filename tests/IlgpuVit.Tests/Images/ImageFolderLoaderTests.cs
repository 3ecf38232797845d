using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Images;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Images;

public class ImageFolderLoaderTests
{
    // Small crops keep the tests fast; one test uses timm's 248 / 224.
    private static readonly PreprocessOptions Small = new() { ResizeTo = 40, Crop = 33 };

    [Fact]
    public void Batches_hold_the_folder_in_order_with_a_short_zeroed_last_batch()
    {
        var (temp, expected) = TestImages.TempLayout();
        using var _ = temp;
        var folder = ImageFolder.Scan(temp.Path);
        var loader = new ImageFolderLoader(folder, new ImageFolderLoaderOptions { BatchSize = 3, Preprocess = Small, Workers = 2 });
        loader.MaxBatches.Should().Be(3);
        var preprocessor = new ImagePreprocessor(Small);
        var counts = new List<int>();
        int n = 0;
        foreach (var batch in loader.Batches())
        {
            batch.Index.Should().Be(counts.Count);
            counts.Add(batch.Count);
            (batch.Capacity, batch.Channels, batch.Height, batch.Width).Should().Be((3, 3, 33, 33));
            batch.Images.Length.Should().Be(3 * 3 * 33 * 33);
            for (int i = 0; i < batch.Count; i++, n++)
            {
                batch.Labels[i].Should().Be(expected[n].Label);
                batch.Paths[i].Should().Be(Path.Combine(temp.Path, expected[n].Path));
                batch.Image(i).ToArray().Should().Equal(preprocessor.Preprocess(batch.Paths[i]), $"image {n} is its file's preprocessed pixels");
            }
            if (batch.Count < 3)
            {
                batch.Images.AsSpan(batch.Count * batch.ImageSize).ToArray().Should().OnlyContain(v => v == 0);
                batch.Labels[batch.Count..].Should().OnlyContain(v => v == 0);
            }
        }
        counts.Should().Equal(3, 3, 1);
        loader.FailureCount.Should().Be(0);
    }

    [Fact]
    public void Default_sizes_give_224_pixel_planar_images()
    {
        var (temp, _) = TestImages.TempLayout();
        using var __ = temp;
        var loader = new ImageFolderLoader(ImageFolder.Scan(temp.Path), new ImageFolderLoaderOptions { BatchSize = 7 });
        var batch = loader.Batches().Single();
        batch.Images.Length.Should().Be(7 * 3 * 224 * 224);
        batch.LabelSpan.ToArray().Should().Equal(0, 0, 1, 1, 2, 2, 2);
        batch.ImageSpan.Length.Should().Be(7 * 3 * 224 * 224);
        batch.ImageSpan.ToArray().Should().OnlyContain(v => v >= -1 && v <= 1, "AugReg normalisation maps bytes to [-1, 1]");
    }

    [Fact]
    public void Corrupt_and_truncated_images_are_reported_counted_and_skipped()
    {
        var (temp, expected) = TestImages.TempLayout();
        using var _ = temp;
        // With batches of 3, the corrupt file is the first of batch 1, so the images after it must move up a slot;
        // the truncated PNG fails in the refill round.
        var corrupt = temp.File("cat/b.jpg");   // between cat/a.JPG and cat/c.png
        File.WriteAllBytes(corrupt, Enumerable.Range(0, 4000).Select(i => (byte)(i * 7919 % 251)).ToArray());
        var truncatedPng = temp.File("zebra/p.PNG");
        File.WriteAllBytes(truncatedPng, File.ReadAllBytes(truncatedPng)[..200]);
        var reported = new List<ImageLoadFailure>();
        var loader = new ImageFolderLoader(ImageFolder.Scan(temp.Path),
            new ImageFolderLoaderOptions { BatchSize = 3, Preprocess = Small, Workers = 3, OnFailure = reported.Add });

        var batches = loader.Batches().Select(b => b.Clone()).ToList();

        loader.FailureCount.Should().Be(2);
        loader.Failures.Should().Equal(reported);
        reported.Select(f => (f.Path, f.Label)).Should().Equal((corrupt, 1), (truncatedPng, 2));
        reported[0].Reason.Should().StartWith("is not a JPEG or PNG image");
        reported[1].Reason.Should().StartWith("is truncated");
        reported[1].ToString().Should().StartWith(truncatedPng + ": is truncated");
        var good = expected.Select(e => Path.Combine(temp.Path, e.Path)).Where(p => p != truncatedPng).ToList();
        batches.SelectMany(b => b.Paths[..b.Count]).Should().Equal(good, "the good images load, in order");
        batches.Select(b => b.Count).Should().Equal(new[] { 3, 3 }, "batches are filled from the next images");
        var preprocessor = new ImagePreprocessor(Small);
        foreach (var batch in batches)
            for (int i = 0; i < batch.Count; i++)
                batch.Image(i).ToArray().Should().Equal(preprocessor.Preprocess(batch.Paths[i]), $"slot {i} of batch {batch.Index} holds its own image");
    }

    [Fact]
    public void A_folder_where_every_image_fails_yields_nothing_and_counts_all()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.File("a"));
        for (int i = 0; i < 5; i++) File.WriteAllText(temp.File($"a/{i}.png"), "not a png");
        var loader = new ImageFolderLoader(ImageFolder.Scan(temp.Path), new ImageFolderLoaderOptions { BatchSize = 2, Preprocess = Small });
        loader.Batches().Should().BeEmpty();
        loader.FailureCount.Should().Be(5);
    }

    [Fact]
    public void Order_and_pixels_do_not_depend_on_workers_or_prefetch()
    {
        var (temp, _) = TestImages.TempLayout();
        using var _ = temp;
        File.WriteAllText(temp.File("cat/bad.png"), "broken");
        var folder = ImageFolder.Scan(temp.Path);
        List<Batch> Run(int workers, int prefetch, bool slowConsumer)
        {
            var loader = new ImageFolderLoader(folder,
                new ImageFolderLoaderOptions { BatchSize = 3, Preprocess = Small, Workers = workers, PrefetchBatches = prefetch });
            var kept = new List<Batch>();
            foreach (var batch in loader.Batches())
            {
                if (slowConsumer) Thread.Sleep(20);   // lets the producer fill the queue
                kept.Add(batch.Clone());
            }
            loader.FailureCount.Should().Be(1);
            return kept;
        }
        var reference = Run(1, 1, false);
        reference.Select(b => b.Count).Should().Equal(3, 3, 1);
        foreach (var (workers, prefetch, slow) in new[] { (4, 3, true), (2, 1, true), (7, 5, false) })
        {
            var other = Run(workers, prefetch, slow);
            other.Should().HaveCount(reference.Count);
            for (int k = 0; k < reference.Count; k++)
            {
                other[k].Index.Should().Be(k);
                other[k].Paths.Should().Equal(reference[k].Paths);
                other[k].Labels.Should().Equal(reference[k].Labels);
                other[k].Images.Should().Equal(reference[k].Images, $"batch {k} with {workers} workers, prefetch {prefetch}");
            }
        }
    }

    [Fact]
    public void Stopping_early_ends_the_pass_and_a_new_pass_starts_over()
    {
        var (temp, expected) = TestImages.TempLayout();
        using var _ = temp;
        var loader = new ImageFolderLoader(ImageFolder.Scan(temp.Path),
            new ImageFolderLoaderOptions { BatchSize = 1, Preprocess = Small, PrefetchBatches = 1 });
        loader.Batches().First().Paths[0].Should().Be(Path.Combine(temp.Path, expected[0].Path));
        loader.Batches().Select(b => b.Paths[0]).Should().Equal(expected.Select(e => Path.Combine(temp.Path, e.Path)));
    }

    [Fact]
    public void Only_one_pass_runs_at_a_time()
    {
        var (temp, _) = TestImages.TempLayout();
        using var _ = temp;
        var loader = new ImageFolderLoader(ImageFolder.Scan(temp.Path), new ImageFolderLoaderOptions { BatchSize = 2, Preprocess = Small });
        using var first = loader.Batches().GetEnumerator();
        first.MoveNext().Should().BeTrue();
        var second = () => loader.Batches().First();
        second.Should().Throw<InvalidOperationException>().WithMessage("*already running a pass*");
        first.Dispose();
        loader.Batches().Count().Should().Be(4);
    }

    [Fact]
    public void An_error_in_the_failure_callback_reaches_the_consumer()
    {
        var (temp, _) = TestImages.TempLayout();
        using var _ = temp;
        File.WriteAllText(temp.File("cat/bad.png"), "broken");
        var loader = new ImageFolderLoader(ImageFolder.Scan(temp.Path), new ImageFolderLoaderOptions
        {
            BatchSize = 2, Preprocess = Small, OnFailure = f => throw new InvalidDataException($"stop at {f.Path}"),
        });
        var act = () => loader.Batches().ToList();
        act.Should().Throw<InvalidDataException>().WithMessage("stop at *bad.png");
    }

    [Fact]
    public void Cancellation_stops_the_pass()
    {
        var (temp, _) = TestImages.TempLayout();
        using var _ = temp;
        using var cancel = new CancellationTokenSource();
        var loader = new ImageFolderLoader(ImageFolder.Scan(temp.Path), new ImageFolderLoaderOptions { BatchSize = 1, Preprocess = Small });
        var act = () =>
        {
            foreach (var batch in loader.Batches(cancel.Token))
                if (batch.Index == 1) cancel.Cancel();
        };
        act.Should().Throw<OperationCanceledException>();
        loader.Batches().Count().Should().Be(7, "the cancelled pass released the loader");
    }

    [Fact]
    public void Bad_options_are_rejected()
    {
        var (temp, _) = TestImages.TempLayout();
        using var _ = temp;
        var folder = ImageFolder.Scan(temp.Path);
        var batch = () => new ImageFolderLoader(folder, new ImageFolderLoaderOptions { BatchSize = 0 });
        batch.Should().Throw<ArgumentException>().WithMessage("*Batch size 0*");
        var prefetch = () => new ImageFolderLoader(folder, new ImageFolderLoaderOptions { PrefetchBatches = 0 });
        prefetch.Should().Throw<ArgumentException>().WithMessage("*Prefetch depth 0*");
        var workers = () => new ImageFolderLoader(folder, new ImageFolderLoaderOptions { Workers = 0 });
        workers.Should().Throw<ArgumentException>().WithMessage("*Worker count 0*");
        var crop = () => new ImageFolderLoader(folder, new ImageFolderLoaderOptions { Preprocess = new() { ResizeTo = 10, Crop = 11 } });
        crop.Should().Throw<ArgumentException>().WithMessage("*Crop 11*");
    }
}
