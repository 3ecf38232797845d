// The IlgpuVit side of an ONNX deployment (docs/onnx.md): loads a trained checkpoint (or, with none
// given, trains vit_micro_patch4_28 briefly on Fashion-MNIST), prunes it with Top-K + VPA at inference,
// exports it to ONNX, and writes a batch of test images with their labels and IlgpuVit's logits, which
// the separate ONNX Runtime app (examples/OnnxRuntimeApp) runs and checks. Exit code 1 if the export
// fails or the pruned model does not learn.
//   dotnet run -c Release --project examples/OnnxExport [-- OUT_FOLDER [CHECKPOINT]]
//   dotnet run -c Release --project examples/OnnxRuntimeApp [-- OUT_FOLDER]
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Onnx;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

string folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "ilgpuvit-onnx-example");
Directory.CreateDirectory(folder);
using var device = Device.Open("cpu");
string checkpoint = args.Length > 1 ? args[1] : TrainBriefly(device, folder);

// 1. Load, 2. prune at inference (no retraining), 3. export.
using var model = new VisionTransformer(TrainingCheckpoint.ReadInfo(checkpoint).Config, device);
TrainingCheckpoint.Load(checkpoint, model);
const string method = "topk-vpa:rate=0.1";
ReductionMethod.Apply(model, method);
string onnx = Path.Combine(folder, "model.onnx");
OnnxExporter.Save(model, onnx, overwrite: true);
Console.WriteLine($"exported {model.Config.Name} with {method} to {onnx} ({new FileInfo(onnx).Length / 1024} KiB)");

// 4. A batch of test images (normalised as in training), their labels and IlgpuVit's logits, for the ONNX Runtime app.
var (test, norm) = DataSets.Load("fashion-mnist", folder: null, train: false);
var batch = new DataLoader(test.Take(256), new LoaderOptions { BatchSize = 256, Normalization = norm }).Epoch(0).First();
var cfg = model.Config;
using var images = Tensor<float>.FromArray(device, batch.ImageSpan, batch.Count, cfg.InChannels, cfg.ImageSize, cfg.ImageSize);
float[] logits;
using (var tape = Tape.NoGrad()) logits = model.Forward(tape, images).Value.ToArray();
using (var writer = new BinaryWriter(File.Create(Path.Combine(folder, "batch.bin"))))
{
    foreach (int v in new[] { batch.Count, cfg.InChannels, cfg.ImageSize, cfg.Classes }) writer.Write(v);
    foreach (float v in batch.ImageSpan) writer.Write(v);
    foreach (int v in batch.LabelSpan) writer.Write(v);
    foreach (float v in logits) writer.Write(v);
}
int correct = Enumerable.Range(0, batch.Count).Count(i => ArgMax(logits.AsSpan(i * cfg.Classes, cfg.Classes)) == batch.LabelSpan[i]);
Console.WriteLine($"IlgpuVit, pruned: {correct} of {batch.Count} test images right; wrote {Path.Combine(folder, "batch.bin")}");
return correct > batch.Count / 2 ? 0 : 1;

static int ArgMax(ReadOnlySpan<float> row)
{
    int best = 0;
    for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
    return best;
}

// One epoch on the training images: enough to learn (about 70%), in about a minute on two cores.
static string TrainBriefly(Device device, string folder)
{
    var (train, norm) = DataSets.Load("fashion-mnist", folder: null, train: true);
    using var model = new VisionTransformer(ModelRegistry.Get("vit_micro_patch4_28"), device, seed: 0);
    using var trainer = new Trainer(model, train, new TrainingOptions { Epochs = 1, WarmupEpochs = 0.2f }, norm);
    Console.WriteLine("no checkpoint given: training vit_micro_patch4_28 for one epoch on Fashion-MNIST");
    foreach (var _ in trainer.RunEpoch()) { }
    string path = Path.Combine(folder, "vit_micro.safetensors");
    TrainingCheckpoint.Save(path, model, trainer.Optimizer, trainer.Options);
    return path;
}
