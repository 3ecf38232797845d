// The hyper-parameters of a training run, serialised into checkpoints and metrics so a run can be
// resumed and reported exactly. Defaults are the project's Fashion-MNIST recipe (see README).

namespace IlgpuVit.Training;

/// <summary>Settings of a training run.</summary>
public sealed record TrainingOptions
{
    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 16;

    /// <summary>Images per optimizer step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>"adamw" or "sgd".</summary>
    public string Optimizer { get; init; } = "adamw";

    /// <summary>Peak learning rate (after warm-up).</summary>
    public float LearningRate { get; init; } = 2e-3f;

    /// <summary>Learning rate at the last step of the cosine schedule.</summary>
    public float MinLearningRate { get; init; } = 1e-5f;

    /// <summary>Epochs of linear warm-up.</summary>
    public float WarmupEpochs { get; init; } = 1f;

    /// <summary>Weight decay (decoupled for AdamW, L2 for SGD); matrices only.</summary>
    public float WeightDecay { get; init; } = 0.05f;

    /// <summary>SGD momentum.</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>Label smoothing of the cross-entropy.</summary>
    public float LabelSmoothing { get; init; } = 0.1f;

    /// <summary>Clip gradients to this global norm; 0 only measures the norm.</summary>
    public float ClipNorm { get; init; } = 1f;

    /// <summary>Random-crop padding in pixels (0: no crop). Off by default: in runs of a few epochs the small
    /// models underfit, and crop + flip cost accuracy (Fashion-MNIST, 4 epochs: 83.4% with, 87.0% without).</summary>
    public int CropPadding { get; init; }

    /// <summary>Random horizontal flips: on by default, a mild regulariser that kept the test loss falling to the
    /// end of a 16-epoch Fashion-MNIST run (89.29%; without augmentation it turned up after epoch 11, 89.25% at 15).</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Probability of random erasing: one rectangle of 2-33% of each training image set to the mean pixel (0: off).</summary>
    public double RandomErasing { get; init; }

    /// <summary>Seeds the model initialisation, the shuffle and the augmentation.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Token reduction during training (ReductionMethod spelling): "none", a method with its rate ("topk:rate=0.06",
    /// "tome:r=8"), or a bare method ("etps") whose pruning rate <see cref="Adjust"/> sets.
    /// </summary>
    public string Method { get; init; } = "none";

    /// <summary>Who sets the pruning rate: "none" (the method's own rate), "gas", "gap" or "ramp:P0..P1" (see RateAdjuster).</summary>
    public string Adjust { get; init; } = "none";

    /// <summary>GAS settings (used when <see cref="Adjust"/> is "gas").</summary>
    public GasOptions Gas { get; init; } = new();

    /// <summary>Pruning-gap controller settings (used when <see cref="Adjust"/> is "gap").</summary>
    public GapOptions Gap { get; init; } = new();

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value is out of range (names which).</exception>
    public TrainingOptions Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new ArgumentException($"Training options: {what}."); }
        Require(Epochs >= 1, $"epochs must be at least 1, got {Epochs}");
        Require(BatchSize >= 1, $"batch size must be at least 1, got {BatchSize}");
        Require(Optimizer is "adamw" or "sgd", $"optimizer must be 'adamw' or 'sgd', got '{Optimizer}'");
        Require(LearningRate > 0 && float.IsFinite(LearningRate), $"learning rate must be positive, got {LearningRate}");
        Require(MinLearningRate >= 0 && MinLearningRate <= LearningRate, $"minimum learning rate must lie in [0, {LearningRate}], got {MinLearningRate}");
        Require(WarmupEpochs >= 0, $"warm-up epochs must not be negative, got {WarmupEpochs}");
        Require(WeightDecay >= 0, $"weight decay must not be negative, got {WeightDecay}");
        Require(LabelSmoothing is >= 0 and < 1, $"label smoothing must lie in [0, 1), got {LabelSmoothing}");
        Require(ClipNorm >= 0, $"clip norm must not be negative, got {ClipNorm}");
        Require(CropPadding >= 0, $"crop padding must not be negative, got {CropPadding}");
        Require(RandomErasing is >= 0 and <= 1, $"random erasing must be a probability in [0, 1], got {RandomErasing}");
        bool adjusted = Adjust.Trim() != "none";
        Require(Method.Trim() != "none" || !adjusted, $"adjust '{Adjust}' needs a reduction method (--method), got none");
        Require(!adjusted || !Reduction.ReductionMethod.HasRate(Method), $"with adjust '{Adjust}' the method names no rate of its own (e.g. 'etps'), got '{Method}'");
        if (adjusted) Gas.Validate();
        if (Adjust.Trim() == "gap") Gap.Validate();
        return this;
    }
}
