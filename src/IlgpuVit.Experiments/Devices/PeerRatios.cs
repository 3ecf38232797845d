// The PyTorch peer's figures (benchmarks/peers/torch_gpu.py, run on the same device in the same
// script run) set beside the check's own timings: one ratio per shape both timed, ours over the
// peer's, so below 1 means faster than PyTorch. Only the unpruned models have a peer figure.

using System.Text.Json;
using IlgpuVit.Metrics;

namespace IlgpuVit.Experiments.Devices;

/// <summary>One shape timed by both.</summary>
/// <param name="What">The shape, e.g. "gemm 4096x4096x4096" or "vit_large_patch16_224 batch 64".</param>
/// <param name="MedianMs">Our median.</param>
/// <param name="PeerMs">PyTorch's median.</param>
public sealed record PeerRatio(string What, double MedianMs, double PeerMs)
{
    /// <summary>Ours over PyTorch's time.</summary>
    public double Ratio => MedianMs / PeerMs;
}

/// <summary>The peer's report, as torch_gpu.py writes it.</summary>
public sealed record PeerReport(string Device, string Torch, IReadOnlyList<PeerReport.GemmFigure> Gemm, IReadOnlyList<PeerReport.ModelFigure> Inference,
    PeerReport.ModelFigure? TrainStep)
{
    /// <summary>A GEMM figure.</summary>
    public sealed record GemmFigure(int M, int N, int K, double MedianMs);

    /// <summary>A model figure.</summary>
    public sealed record ModelFigure(string Model, int Batch, string Source, double MedianMs);

    /// <summary>Reads a peer report.</summary>
    /// <exception cref="FormatException">The file is not a peer report.</exception>
    public static PeerReport Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<PeerReport>(File.ReadAllText(path), ReportJson.Options)
                   ?? throw new FormatException($"{path}: empty peer report.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not a peer report of benchmarks/peers/torch_gpu.py ({e.Message}).", e);
        }
    }

    /// <summary>The ratios of every shape both timed.</summary>
    public IReadOnlyList<PeerRatio> Ratios(DeviceTimingReport ours)
    {
        var ratios = new List<PeerRatio>();
        foreach (var g in ours.Gemm)
            if (Gemm.FirstOrDefault(p => (p.M, p.N, p.K) == (g.M, g.N, g.K)) is { } peer)
                ratios.Add(new($"gemm {g.M}x{g.N}x{g.K}", g.MedianMs, peer.MedianMs));
        foreach (var i in ours.Inference.Where(i => i.Spec == "none"))
            if (Inference.FirstOrDefault(p => p.Model == i.Model && p.Batch == i.Batch) is { } peer)
                ratios.Add(new($"{i.Model} batch {i.Batch} inference ({peer.Source})", i.MedianMs, peer.MedianMs));
        if (TrainStep is { } step && step.Model == ours.TrainStep.Model && step.Batch == ours.TrainStep.Batch)
            ratios.Add(new($"{step.Model} batch {step.Batch} training step ({step.Source})", ours.TrainStep.MedianMs, step.MedianMs));
        return ratios;
    }
}
