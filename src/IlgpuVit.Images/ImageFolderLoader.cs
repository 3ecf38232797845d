// Batches of an ImageFolder for evaluation: images decoded in parallel by a producer task into a
// bounded prefetch queue (System.Threading.Channels) that the consumer drains in order.
// Order is deterministic: the batches are the folder's images in ImageFolder order with the failed ones
// left out, cut into runs of BatchSize, whatever the worker count, prefetch depth or timing. A batch is
// decoded with Parallel.For, each image into its own slot; the producer then compacts the successes in
// order and, if some failed, decodes the next images to fill the batch, so only the last batch is short.
// A failure (unreadable, corrupt, truncated) is recorded, passed to OnFailure in folder order, and
// skipped; it never ends the pass. Failures in the loader itself (or in OnFailure) end it and reach the
// consumer.
// Buffers: PrefetchBatches + 2 batches circulate (queued, being filled, held by the consumer), so a batch
// is valid until the enumerator's next MoveNext. One pass at a time per loader.
using System.Threading.Channels;
using IlgpuVit.Data;

namespace IlgpuVit.Images;

/// <summary>Decodes an <see cref="ImageFolder"/> into normalised batches (RGB, with each image's path), in parallel and ahead of the consumer.</summary>
public sealed class ImageFolderLoader
{
    private readonly ImagePreprocessor _preprocessor;
    private readonly object _gate = new();
    private readonly List<ImageLoadFailure> _failures = new();
    private int _running;

    /// <summary>Creates a loader over <paramref name="folder"/>.</summary>
    /// <exception cref="ArgumentException">The batch size, prefetch depth or worker count is below 1, or the preprocessing options are invalid.</exception>
    public ImageFolderLoader(ImageFolder folder, ImageFolderLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize < 1)
            throw new ArgumentException($"Batch size {options.BatchSize} must be at least 1.", nameof(options));
        if (options.PrefetchBatches < 1)
            throw new ArgumentException($"Prefetch depth {options.PrefetchBatches} must be at least 1 batch.", nameof(options));
        if (options.Workers < 1)
            throw new ArgumentException($"Worker count {options.Workers} must be at least 1.", nameof(options));
        Folder = folder;
        Options = options;
        _preprocessor = new ImagePreprocessor(options.Preprocess);
    }

    /// <summary>The images being batched.</summary>
    public ImageFolder Folder { get; }

    /// <summary>The settings.</summary>
    public ImageFolderLoaderOptions Options { get; }

    /// <summary>Batches in a pass when no image fails: Count / BatchSize rounded up (failures can only lower it).</summary>
    public int MaxBatches => (Folder.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Images skipped so far in the current or latest pass.</summary>
    public int FailureCount
    {
        get { lock (_gate) return _failures.Count; }
    }

    /// <summary>The images skipped so far in the current or latest pass, in folder order (a copy).</summary>
    public IReadOnlyList<ImageLoadFailure> Failures
    {
        get { lock (_gate) return _failures.ToArray(); }
    }

    /// <summary>
    /// One pass over the folder. Each yielded batch is valid until the next MoveNext (<see cref="Batch.Clone"/> keeps
    /// one); stopping early stops the decoding. The failure list restarts with each pass.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another pass of this loader is still being enumerated.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IEnumerable<Batch> Batches(CancellationToken cancellationToken = default)
    {
        // Checked on the first MoveNext (an iterator's body starts there), so an enumerable never enumerated holds nothing.
        if (Interlocked.Exchange(ref _running, 1) != 0)
            throw new InvalidOperationException("This loader is already running a pass; finish or dispose it before starting another.");
        try
        {
            lock (_gate) _failures.Clear();
            foreach (var batch in Pass(cancellationToken)) yield return batch;
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private IEnumerable<Batch> Pass(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ready = Channel.CreateBounded<Batch>(
            new BoundedChannelOptions(Options.PrefetchBatches) { SingleReader = true, SingleWriter = true });
        var free = Channel.CreateUnbounded<Batch>();
        for (int i = 0; i < Options.PrefetchBatches + 2; i++)
            free.Writer.TryWrite(new Batch(Options.BatchSize, channels: 3, Options.Preprocess.Crop, Options.Preprocess.Crop));
        var producer = Task.Run(() => Produce(ready.Writer, free.Reader, stop.Token));
        try
        {
            Batch? held = null;
            while (ready.Reader.WaitToReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult())
                while (ready.Reader.TryRead(out var batch))
                {
                    // The caller has given up the previous batch by asking for this one.
                    if (held is not null) free.Writer.TryWrite(held);
                    held = batch;
                    yield return batch;
                }
            producer.GetAwaiter().GetResult();   // the queue closed: rethrow the producer's failure, if any
        }
        finally
        {
            // A consumer that stops early must not leave a producer writing into the buffers.
            stop.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
        }
    }

    /// <summary>Fills batches in order until the folder is done; always closes the queue.</summary>
    private void Produce(ChannelWriter<Batch> ready, ChannelReader<Batch> free, CancellationToken token)
    {
        try
        {
            var samples = Folder.Samples;
            int next = 0, index = 0;
            while (next < samples.Count)
            {
                var batch = free.ReadAsync(token).AsTask().GetAwaiter().GetResult();
                next = Fill(batch, next, token);
                if (batch.Count == 0) break;   // every remaining image failed
                batch.Index = index++;
                ready.WriteAsync(batch, token).AsTask().GetAwaiter().GetResult();
            }
        }
        finally
        {
            ready.TryComplete();
        }
    }

    /// <summary>Fills <paramref name="batch"/> with the next good images from sample <paramref name="next"/> on; returns the sample after the last one used.</summary>
    private int Fill(Batch batch, int next, CancellationToken token)
    {
        var samples = Folder.Samples;
        int filled = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Options.Workers, CancellationToken = token };
        while (filled < batch.Capacity && next < samples.Count)
        {
            int start = next, offset = filled, n = Math.Min(batch.Capacity - filled, samples.Count - next);
            var errors = new Exception?[n];
            Parallel.For(0, n, parallel, i =>
            {
                try
                {
                    _preprocessor.Preprocess(samples[start + i].Path, batch.Image(offset + i));
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    errors[i] = error;
                }
            });
            // Compact the successes in order; report the failures in order (deterministic callbacks).
            for (int i = 0; i < n; i++)
            {
                var sample = samples[start + i];
                if (errors[i] is { } error)
                {
                    Report(new ImageLoadFailure(sample.Path, sample.Label, Describe(error)));
                    continue;
                }
                if (filled != offset + i) batch.Image(offset + i).CopyTo(batch.Image(filled));
                batch.Labels[filled] = sample.Label;
                batch.Paths[filled] = sample.Path;
                filled++;
            }
            next += n;
        }
        // A short last batch leaves zeros, not an earlier batch's images, in the unused tail.
        batch.Images.AsSpan(filled * batch.ImageSize).Clear();
        batch.Labels.AsSpan(filled).Clear();
        batch.Paths.AsSpan(filled).Fill(string.Empty);
        batch.Count = filled;
        return next;
    }

    private void Report(ImageLoadFailure failure)
    {
        lock (_gate) _failures.Add(failure);
        Options.OnFailure?.Invoke(failure);
    }

    /// <summary>The problem without the path (the failure record carries it): a format error's own words, else type and message.</summary>
    private static string Describe(Exception error) =>
        error is DatasetFormatException format && format.Message.StartsWith(format.Path + ": ", StringComparison.Ordinal)
            ? format.Message[(format.Path.Length + 2)..]
            : $"{error.GetType().Name}: {error.Message}";
}
