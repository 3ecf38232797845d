// Mini-batches of an ImageDataset for training and evaluation, reproducible for resuming: epoch e's
// order is a Fisher-Yates permutation drawn from (Seed, e), and batch k's augmentation from
// (Seed, e, k), so Epoch(e, k) yields exactly the batches an uninterrupted run would from k on,
// with or without prefetch. Buffers are reused: a batch is valid until the enumerator's next
// MoveNext (with prefetch, two batches alternate: the next fills while the caller holds the current).
using System.Collections.Concurrent;

namespace IlgpuVit.Data;

/// <summary>Batches, shuffles, augments and normalises an <see cref="ImageDataset"/>.</summary>
public sealed class DataLoader
{
    // Stream tags keep the shuffle and the augmentation streams apart for equal (seed, epoch).
    private const long ShuffleStream = 0x53485546464C45;
    private const long AugmentStream = 0x4155474D454E54;

    private readonly float[] _table;
    private readonly ConcurrentBag<EpochBuffers> _free = new();

    /// <summary>Creates a loader over <paramref name="dataset"/>.</summary>
    /// <exception cref="ArgumentException">The batch size is not positive, the normalisation has the wrong number of channels, padding is at least the image size, or DropLast leaves no batch.</exception>
    public DataLoader(ImageDataset dataset, LoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize < 1)
            throw new ArgumentException($"Batch size {options.BatchSize} must be at least 1.", nameof(options));
        var normalization = options.Normalization ?? Normalization.Identity(dataset.Channels);
        if (normalization.Mean.Length != dataset.Channels)
            throw new ArgumentException(
                $"Normalization has {normalization.Mean.Length} channels but the images have {dataset.Channels}.", nameof(options));
        if (options.Augmentation.Padding >= Math.Min(dataset.Height, dataset.Width) && options.Augmentation.Padding > 0)
            throw new ArgumentException(
                $"Crop padding {options.Augmentation.Padding} must be smaller than the image ({dataset.Height} x {dataset.Width}).", nameof(options));
        if (options.ShardCount < 1 || options.ShardIndex < 0 || options.ShardIndex >= options.ShardCount)
            throw new ArgumentException($"Shard {options.ShardIndex} of {options.ShardCount} does not exist: the index must be in [0, count).", nameof(options));
        if (options.BatchSize % options.ShardCount != 0)
            throw new ArgumentException($"A global batch of {options.BatchSize} images does not split evenly across {options.ShardCount} members.", nameof(options));
        if (options.DropLast && dataset.Count < options.BatchSize)
            throw new ArgumentException(
                $"Batch size {options.BatchSize} with DropLast leaves no batch of the {dataset.Count} images.", nameof(options));
        Dataset = dataset;
        Options = options;
        _table = normalization.Table();
        BatchesPerEpoch = options.DropLast
            ? dataset.Count / options.BatchSize
            : (dataset.Count + options.BatchSize - 1) / options.BatchSize;
    }

    /// <summary>Images of one batch on this member: BatchSize / ShardCount.</summary>
    public int ShardSize => Options.BatchSize / Options.ShardCount;

    /// <summary>The images being batched.</summary>
    public ImageDataset Dataset { get; }

    /// <summary>The settings.</summary>
    public LoaderOptions Options { get; }

    /// <summary>Batches in every epoch: Count / BatchSize, rounded up unless DropLast.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/> from batch <paramref name="startBatch"/> on. Each yielded
    /// <see cref="Batch"/> is valid until the next MoveNext; <see cref="Batch.Clone"/> keeps one.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The epoch is negative or the start batch is outside [0, BatchesPerEpoch].</exception>
    public IEnumerable<Batch> Epoch(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (startBatch < 0 || startBatch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(startBatch), startBatch, $"Start batch must be in [0, {BatchesPerEpoch}].");
        return Options.Prefetch ? Prefetched(epoch, startBatch) : Sequential(epoch, startBatch);
    }

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the images: indices into the data set, (Count).</summary>
    public int[] Order(int epoch)
    {
        var order = new int[Dataset.Count];
        FillOrder(epoch, order);
        return order;
    }

    private IEnumerable<Batch> Sequential(int epoch, int startBatch)
    {
        var buffers = Rent(epoch);
        try
        {
            for (int k = startBatch; k < BatchesPerEpoch; k++)
            {
                Fill(buffers.Batches[0], buffers.Order, epoch, k);
                yield return buffers.Batches[0];
            }
        }
        finally
        {
            _free.Add(buffers);
        }
    }

    private IEnumerable<Batch> Prefetched(int epoch, int startBatch)
    {
        if (startBatch == BatchesPerEpoch) yield break;
        var buffers = Rent(epoch);
        Task<Batch>? next = null;
        try
        {
            next = FillLater(buffers, epoch, startBatch);
            for (int k = startBatch; k < BatchesPerEpoch; k++)
            {
                var current = next!.GetAwaiter().GetResult();   // set for every k below BatchesPerEpoch
                // Batch k + 1 goes to the other buffer: the caller gave up batch k - 1's when it called MoveNext.
                next = k + 1 < BatchesPerEpoch ? FillLater(buffers, epoch, k + 1) : null;
                yield return current;
            }
        }
        finally
        {
            // A caller that stops early must not get the buffers back while a task still writes them.
            if (next is not null)
                try { next.Wait(); } catch (AggregateException) { }
            _free.Add(buffers);
        }
    }

    private Task<Batch> FillLater(EpochBuffers buffers, int epoch, int k)
    {
        var batch = buffers.Batches[k & 1];
        return Task.Run(() =>
        {
            Fill(batch, buffers.Order, epoch, k);
            return batch;
        });
    }

    /// <summary>Buffers for one enumeration, with the epoch's order filled in; reused across epochs.</summary>
    private EpochBuffers Rent(int epoch)
    {
        if (!_free.TryTake(out var buffers))
        {
            var (c, h, w) = Options.ResizeTo > 0 ? (Dataset.Channels, Options.ResizeTo, Options.ResizeTo) : (Dataset.Channels, Dataset.Height, Dataset.Width);
            buffers = new EpochBuffers(new int[Dataset.Count],
                [new Batch(ShardSize, c, h, w), new Batch(ShardSize, c, h, w)]);
        }
        FillOrder(epoch, buffers.Order);
        return buffers;
    }

    private void FillOrder(int epoch, int[] order)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!Options.Shuffle) return;
        var random = new SeedMix(Options.Seed, epoch, ShuffleStream);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>
    /// Writes this shard of batch <paramref name="k"/> of epoch <paramref name="epoch"/>: a pure function of (Seed, epoch, k). The
    /// random draws of the images before the shard are made and discarded, so each image gets the draws of the whole batch.
    /// </summary>
    private void Fill(Batch batch, int[] order, int epoch, int k)
    {
        int size = Options.BatchSize, first = k * size;
        int whole = Math.Min(size, Dataset.Count - first);
        int shardFirst = Options.ShardIndex * ShardSize;
        int count = Math.Clamp(whole - shardFirst, 0, ShardSize);
        int imageSize = Dataset.ImageSize, outSize = Options.ResizeTo > 0 ? Dataset.Channels * Options.ResizeTo * Options.ResizeTo : imageSize;
        var augmentation = Options.Augmentation;
        var scratch = Options.ResizeTo > 0 ? new float[imageSize] : null;
        var random = new SeedMix(Options.Seed, epoch, k, AugmentStream);
        var labels = Dataset.Labels;
        for (int skip = 0; skip < Math.Min(shardFirst, whole); skip++)
        {
            augmentation.Draw(ref random);
            augmentation.DrawErasing(ref random, Dataset.Height, Dataset.Width);
        }
        for (int i = 0; i < count; i++)
        {
            int index = order[first + shardFirst + i];
            var (top, left, flip) = augmentation.Draw(ref random);
            var target = batch.Images.AsSpan(i * outSize, outSize);
            Augmentation.Apply(Dataset.Image(index), scratch ?? target, Dataset.Channels, Dataset.Height, Dataset.Width, augmentation.Padding, top, left, flip, _table);
            var erased = augmentation.DrawErasing(ref random, Dataset.Height, Dataset.Width);
            if (erased.Height > 0) Augmentation.Erase(scratch ?? target, Dataset.Channels, Dataset.Height, Dataset.Width, erased);
            if (scratch is not null) Resize.Bilinear(scratch, Dataset.Channels, Dataset.Height, Dataset.Width, target, Options.ResizeTo);
            batch.Labels[i] = labels[index];
        }
        // A short last batch leaves zeros, not the previous batch's images, in the unused tail.
        batch.Images.AsSpan(count * outSize).Clear();
        batch.Labels.AsSpan(count).Clear();
        batch.Count = count;
        batch.Epoch = epoch;
        batch.Index = k;
    }

    private sealed record EpochBuffers(int[] Order, Batch[] Batches);
}
