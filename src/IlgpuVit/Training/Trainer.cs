// The training loop of one model on one data set: forward on a tape, mean cross-entropy, backward,
// global-norm clipping, a cosine-scheduled optimizer step. The position (epoch, batch, step) and
// everything else a resume needs is in Checkpoint; the data order and augmentation are pure
// functions of (seed, epoch, batch), so a resumed run repeats the uninterrupted loss curve exactly.
// Data-parallel (docs/distributed.md): with a communicator of N members each member takes its shard of every
// global batch, and the gradients and loss are averaged across members (GradientAverager) before clipping,
// so every member clips and steps on the same gradient. A non-finite loss or gradient norm stops the run; only then are the weights checked (one squared-sum
// kernel per parameter), to tell NaN weights apart from a loss that blew up.

using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Kernels;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;

namespace IlgpuVit.Training;

/// <summary>What one optimizer step did.</summary>
/// <param name="Step">Steps done, this one included.</param>
/// <param name="Epoch">Epoch of the batch, from 0.</param>
/// <param name="Batch">Batch index within the epoch.</param>
/// <param name="Loss">Mean training loss of the batch.</param>
/// <param name="GradNorm">Global gradient norm before clipping.</param>
/// <param name="LearningRate">Rate the step used.</param>
/// <param name="Images">Images in the batch.</param>
/// <param name="UnprunedLoss">The same batch's loss without token reduction, on the steps <see cref="Trainer.ProbeEvery"/> picks (else null).</param>
public readonly record struct StepResult(int Step, int Epoch, int Batch, float Loss, float GradNorm, float LearningRate, int Images, float? UnprunedLoss = null);

/// <summary>Trains a <see cref="VisionTransformer"/> on an <see cref="ImageDataset"/>.</summary>
public sealed class Trainer : IDisposable
{
    // Steps this trainer has run (not the global step, which a resume restores): weights found non-finite
    // before the first one came with the model.
    private int _stepsRun;

    /// <summary>A trainer with a fresh optimizer; its loader shuffles and augments as <paramref name="options"/> say.</summary>
    /// <param name="model">The model (the caller's).</param>
    /// <param name="train">The training images.</param>
    /// <param name="options">The run's settings; BatchSize is the global batch, split across the members of <paramref name="communicator"/>.</param>
    /// <param name="normalization">The data's normalisation.</param>
    /// <param name="communicator">The data-parallel group (null: a single process).</param>
    /// <exception cref="ArgumentException">The options are invalid, the data does not fit the model, or the batch does not split across the members.</exception>
    public Trainer(VisionTransformer model, ImageDataset train, TrainingOptions options, Normalization normalization, ICommunicator? communicator = null)
    {
        Communicator = communicator ?? SingleProcess.Instance;
        if (options.BatchSize % Communicator.Size != 0)
            throw new ArgumentException($"The global batch of {options.BatchSize} images does not split evenly across {Communicator.Size} ranks: " +
                                        $"give a batch size that is a multiple of {Communicator.Size}.");
        Options = options.Validate();
        var cfg = model.Config;
        if (train.Channels != cfg.InChannels || train.Height != train.Width || train.Classes > cfg.Classes)
            throw new ArgumentException($"Data of {train.Channels}x{train.Height}x{train.Width} images and {train.Classes} classes does not fit model {cfg.Name} " +
                $"({cfg.InChannels}x{cfg.ImageSize}x{cfg.ImageSize}, {cfg.Classes} classes).");
        Model = model;
        Loader = new DataLoader(train, new LoaderOptions
        {
            BatchSize = options.BatchSize, Shuffle = true, Seed = options.Seed, DropLast = true, Prefetch = true,
            Augmentation = new Augmentation(options.CropPadding, options.HorizontalFlip, options.RandomErasing), Normalization = normalization,
            ResizeTo = train.Height == cfg.ImageSize ? 0 : cfg.ImageSize,       // e.g. CIFAR-10 at 224 px to fine-tune a pretrained ViT
            ShardIndex = Communicator.Rank, ShardCount = Communicator.Size,
        });
        var parameters = model.Parameters().ToArray();
        Optimizer = options.Optimizer == "sgd"
            ? new Sgd(parameters, options.Momentum, options.WeightDecay)
            : new AdamW(parameters, options.WeightDecay);
        Averager = new GradientAverager(Communicator, parameters);
        int total = options.Epochs * Loader.BatchesPerEpoch;
        Schedule = new CosineSchedule(options.LearningRate, (int)Math.Round(options.WarmupEpochs * Loader.BatchesPerEpoch), total, options.MinLearningRate);
    }

    /// <summary>The data-parallel group (SingleProcess when alone).</summary>
    public ICommunicator Communicator { get; }

    /// <summary>Averages the members' gradients each step.</summary>
    public GradientAverager Averager { get; }

    /// <summary>Seconds this member spent in the gradient all-reduce so far.</summary>
    public double CommunicationSeconds { get; private set; }

    /// <summary>Copies every parameter and optimizer state of rank 0 to the other members (after a fresh start or a resume).</summary>
    /// <exception cref="CommunicatorException">A member failed.</exception>
    public void BroadcastState()
    {
        if (Communicator.Size == 1) return;
        var tensors = Optimizer.Parameters.Select(p => p.Value).Concat(Optimizer.State().Select(s => s.Value));
        foreach (var t in tensors)
        {
            var host = Communicator.Rank == 0 ? t.ToArray() : new float[t.Length];
            Communicator.Broadcast(host.AsSpan(), 0);
            if (Communicator.Rank != 0) t.CopyFrom(host);
        }
        Span<float> step = [Optimizer.StepCount];
        Communicator.Broadcast(step, 0);
        Optimizer.StepCount = (int)step[0];
    }

    /// <summary>The model being trained.</summary>
    public VisionTransformer Model { get; }

    /// <summary>The run's settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>The training batches.</summary>
    public DataLoader Loader { get; }

    /// <summary>The optimizer (its StepCount is the global step).</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The learning-rate schedule.</summary>
    public CosineSchedule Schedule { get; }

    /// <summary>
    /// Every this many steps, also run the step's batch without token reduction (no gradients, the same weights, before the
    /// update) and report its loss as <see cref="StepResult.UnprunedLoss"/> (the pruning-gap controller's probe); 0: never.
    /// </summary>
    public int ProbeEvery { get; set; }

    /// <summary>Optimizer steps in the whole run.</summary>
    public int TotalSteps => Options.Epochs * Loader.BatchesPerEpoch;

    /// <summary>Epoch of the next step.</summary>
    public int Epoch => Optimizer.StepCount / Loader.BatchesPerEpoch;

    /// <summary>Batch (within its epoch) of the next step.</summary>
    public int BatchInEpoch => Optimizer.StepCount % Loader.BatchesPerEpoch;

    /// <summary>Whether every step of the run is done.</summary>
    public bool Finished => Optimizer.StepCount >= TotalSteps;

    /// <summary>Runs the remaining steps of the current epoch (all of it when at its start), yielding each step's result.</summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm became NaN or infinite.</exception>
    public IEnumerable<StepResult> RunEpoch()
    {
        if (Finished) yield break;
        int epoch = Epoch;
        foreach (var batch in Loader.Epoch(epoch, BatchInEpoch))
            yield return Step(batch, epoch);
    }

    /// <summary>One optimizer step on <paramref name="batch"/>.</summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm became NaN or infinite.</exception>
    public StepResult Step(Batch batch, int epoch)
    {
        var device = Model.Device;
        var cfg = Model.Config;
        using var images = Tensor<float>.FromArray(device, batch.ImageSpan, batch.Count, cfg.InChannels, cfg.ImageSize, cfg.ImageSize);
        using var labels = Tensor<int>.FromArray(device, batch.LabelSpan, batch.Count);
        int index = BatchInEpoch;
        Optimizer.ZeroGrad();
        float loss;
        using (var tape = new Tape())
        {
            var output = tape.CrossEntropy(Model.Forward(tape, images), labels, Options.LabelSmoothing);
            loss = output.Value.ToArray()[0];
            tape.Backward(output);
        }
        float? unpruned = ProbeEvery > 0 && (Optimizer.StepCount + 1) % ProbeEvery == 0 ? UnprunedLoss(images, labels) : null;
        if (Communicator.Size > 1)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            loss = Averager.Average(loss);
            // Every rank probes on the same steps, so the gap controller sees the global batch's unpruned loss too.
            if (unpruned is { } own) unpruned = Averager.Average(own);
            CommunicationSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        float norm = GradientClipping.ClipByGlobalNorm(Optimizer.Parameters, Options.ClipNorm);
        if (!float.IsFinite(loss) || !float.IsFinite(norm))
            throw new TrainingDivergedException(Optimizer.StepCount + 1, loss, norm, FirstNonFiniteParameter(), firstStepOfRun: _stepsRun == 0);
        float lr = Schedule.At(Optimizer.StepCount);
        Optimizer.Step(lr);
        _stepsRun++;
        return new StepResult(Optimizer.StepCount, epoch, index, loss, norm, lr, batch.Count, unpruned);
    }

    /// <summary>The loss of <paramref name="images"/> with every block's reducer off, recording nothing; the reducers are restored.</summary>
    private float UnprunedLoss(Tensor<float> images, Tensor<int> labels)
    {
        var reducers = Model.Reducers;
        try
        {
            Model.Reducers = new ITokenReducer?[reducers.Count];
            using var tape = Tape.NoGrad();
            return tape.CrossEntropy(Model.Forward(tape, images), labels, Options.LabelSmoothing).Value.ToArray()[0];
        }
        finally
        {
            Model.Reducers = reducers;
        }
    }

    /// <summary>
    /// The first parameter holding NaN or ±Inf, or null. Each parameter's sum of squares is computed on the device and read
    /// back at once; only one that is not finite (non-finite values, or finite ones so large that their squares overflow) is
    /// copied to the host and scanned.
    /// </summary>
    private NonFiniteTensor? FirstNonFiniteParameter()
    {
        var parameters = Optimizer.Parameters;
        using var squares = Tensor<float>.Zeros(Model.Device, parameters.Count);
        for (int i = 0; i < parameters.Count; i++) Ops.SumOfSquares(parameters[i].Value, squares, i);
        var sums = squares.ToArray();
        for (int i = 0; i < parameters.Count; i++)
            if (!float.IsFinite(sums[i]) && NonFiniteTensor.Find(parameters[i].Name!, parameters[i].Value.ToArray()) is { } tensor) return tensor;
        return null;
    }

    /// <summary>Releases the optimizer state (the model belongs to the caller).</summary>
    public void Dispose() => Optimizer.Dispose();
}
