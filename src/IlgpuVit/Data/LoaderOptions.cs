// The settings of a DataLoader, as one immutable record so a checkpoint can store and compare them.
namespace IlgpuVit.Data;

/// <summary>How a <see cref="DataLoader"/> batches, orders, augments and normalises a data set.</summary>
public sealed record LoaderOptions
{
    /// <summary>Images per batch (B); at least 1.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Visit the images in a fresh random order each epoch (drawn from Seed and the epoch).</summary>
    public bool Shuffle { get; init; }

    /// <summary>The seed every shuffle and augmentation derives from.</summary>
    public int Seed { get; init; }

    /// <summary>Leave out the last batch when it would be short.</summary>
    public bool DropLast { get; init; }

    /// <summary>Random crop, flip and erasing; <see cref="Augmentation.None"/> for evaluation.</summary>
    public Augmentation Augmentation { get; init; } = Augmentation.None;

    /// <summary>Per-channel mean and std; null means mean 0 and std 1 (pixels become byte / 255).</summary>
    public Normalization? Normalization { get; init; }

    /// <summary>Produce the next batch on a background task while the caller works on the current one.</summary>
    public bool Prefetch { get; init; }

    /// <summary>Resize every image (after augmentation) to this square side with bilinear sampling; 0 keeps its size.</summary>
    public int ResizeTo { get; init; }

    /// <summary>
    /// Data-parallel shard: this member takes images [ShardIndex * B / ShardCount, (ShardIndex + 1) * B / ShardCount) of every
    /// global batch of B = BatchSize images (B must split evenly); the batch order and augmentation stay those of the whole batch.
    /// </summary>
    public int ShardIndex { get; init; }

    /// <summary>Members the global batch is split across (1: no split).</summary>
    public int ShardCount { get; init; } = 1;
}
