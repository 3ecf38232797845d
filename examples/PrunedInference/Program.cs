// Pruned inference with the library API: loads a trained ViT checkpoint (or, with none given, trains
// one briefly on Fashion-MNIST and saves it), then evaluates it unpruned and with two reduction
// methods applied at inference, with no retraining: Top-K + VPA and ToMe. Prints accuracy, GMACs
// per image and batch latency for each. Exit code 1 if a method fails to cut FLOPs or the model
// fails to learn.
//   dotnet run -c Release --project examples/PrunedInference [-- CHECKPOINT [DEVICE]]
using IlgpuVit.Data;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

using var device = Device.Open(args.Length > 1 ? args[1] : "auto");
var (test, norm) = DataSets.Load("fashion-mnist", folder: null, train: false);
test = test.Take(2000);
string path = args.Length > 0 ? args[0] : TrainBriefly(device);

using var model = new VisionTransformer(TrainingCheckpoint.ReadInfo(path).Config, device);
TrainingCheckpoint.Load(path, model);
var config = model.Config;
var batch = new DataLoader(test, new LoaderOptions { BatchSize = 64, Normalization = norm }).Epoch(0).First();
using var images = Tensor<float>.FromArray(device, batch.ImageSpan, 64, config.InChannels, config.ImageSize, config.ImageSize);

Console.WriteLine($"{config.Name} from {path} on {device.Info.Spec}, {test.Count} test images; latency of a batch of 64");
Console.WriteLine($"{"method",-22} {"accuracy",9} {"GMACs",8} {"FLOPs",8} {"latency ms",11} {"change",8}");
string[] methods = ["none", "topk-vpa:rate=0.1", "tome:r=4"];
var latency = Latency.Compare(model, images, methods, runs: 10);      // interleaved runs: fair under a noisy load
double baseMacs = latency[0].MacsPerImage, baseMs = latency[0].MedianMs;
bool ok = true;
for (int i = 0; i < methods.Length; i++)
{
    ReductionMethod.Apply(model, methods[i]);
    var accuracy = Evaluation.Evaluate(model, test, norm);
    var (macs, ms) = (accuracy.MacsPerImage, latency[i].MedianMs);
    Console.WriteLine($"{methods[i],-22} {accuracy.Accuracy,9:P2} {macs / 1e9,8:F4} {macs / baseMacs - 1,8:+0.0%;-0.0%} {ms,11:F1} {ms / baseMs - 1,8:+0.0%;-0.0%}");
    ok &= accuracy.Accuracy > 0.5 && (i == 0 || macs < 0.9 * baseMacs);
}
Console.WriteLine(ok ? "OK" : "FAILED: a method did not cut FLOPs by 10%, or the model did not learn");
return ok ? 0 : 1;

// One epoch on the 60,000 training images: enough to learn (about 70%), in under a minute on two cores.
static string TrainBriefly(Device device)
{
    var (train, norm) = DataSets.Load("fashion-mnist", folder: null, train: true);
    using var model = new VisionTransformer(ModelRegistry.Get("vit_micro_patch4_28"), device, seed: 0);
    using var trainer = new Trainer(model, train, new TrainingOptions { Epochs = 1, WarmupEpochs = 0.2f }, norm);
    Console.WriteLine("no checkpoint given: training vit_micro_patch4_28 for one epoch on Fashion-MNIST");
    foreach (var _ in trainer.RunEpoch()) { }
    string path = Path.Combine(Path.GetTempPath(), "ilgpuvit-pruned-inference.safetensors");
    TrainingCheckpoint.Save(path, model, trainer.Optimizer, trainer.Options);
    return path;
}
