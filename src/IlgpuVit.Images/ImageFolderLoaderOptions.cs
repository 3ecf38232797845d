// The settings of an ImageFolderLoader, as one immutable record.
namespace IlgpuVit.Images;

/// <summary>How an <see cref="ImageFolderLoader"/> batches, decodes and prefetches an image folder.</summary>
public sealed record ImageFolderLoaderOptions
{
    /// <summary>Images per batch (B); at least 1.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Resize, crop and normalisation.</summary>
    public PreprocessOptions Preprocess { get; init; } = new();

    /// <summary>Batches decoded ahead of the consumer (the bounded queue's capacity); at least 1.</summary>
    public int PrefetchBatches { get; init; } = 2;

    /// <summary>Images decoded at once; at least 1. The results do not depend on it.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Called, in folder order, for each image that is skipped; null records the failures without a callback.</summary>
    public Action<ImageLoadFailure>? OnFailure { get; init; }
}
