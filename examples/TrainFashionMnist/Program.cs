// Trains a small ViT on part of Fashion-MNIST with the library's Trainer, evaluates it, saves and
// reloads a checkpoint, and checks the reloaded model scores the same. Exit code 1 if learning or
// the round trip fails.
//   dotnet run -c Release --project examples/TrainFashionMnist [-- IMAGES [DEVICE]]
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

int images = args.Length > 0 ? int.Parse(args[0]) : 6000;
using var device = Device.Open(args.Length > 1 ? args[1] : "auto");
var (train, norm) = DataSets.Load("fashion-mnist", folder: null, train: true);
var (test, _) = DataSets.Load("fashion-mnist", folder: null, train: false);
train = train.Take(images);
test = test.Take(2000);

using var model = new VisionTransformer(ModelRegistry.Get("vit_micro_patch4_28"), device, seed: 0);
using var trainer = new Trainer(model, train, new TrainingOptions { Epochs = 2, WarmupEpochs = 0.3f }, norm);
while (!trainer.Finished)
{
    var steps = trainer.RunEpoch().ToList();
    Console.WriteLine($"epoch {trainer.Epoch}: mean loss {steps.Average(s => s.Loss):F4}, last grad norm {steps[^1].GradNorm:F3}");
}
var result = Evaluation.Evaluate(model, test, norm);
Console.WriteLine($"test accuracy {result.Accuracy:P2} on {result.Images} images ({result.ImagesPerSecond:F0} images/s) on {device.Info.Spec}");

string path = Path.Combine(Path.GetTempPath(), "ilgpuvit-example.safetensors");
TrainingCheckpoint.Save(path, model, trainer.Optimizer, trainer.Options);
using var reloaded = new VisionTransformer(TrainingCheckpoint.ReadInfo(path).Config, device);
TrainingCheckpoint.Load(path, reloaded);
var again = Evaluation.Evaluate(reloaded, test, norm);
File.Delete(path);
bool ok = result.Accuracy > 0.5 && again.Accuracy == result.Accuracy;
Console.WriteLine(ok ? "OK: the model learned, and its checkpoint reloads to the same accuracy."
                     : $"FAILED: accuracy {result.Accuracy:P2}, reloaded {again.Accuracy:P2}");
return ok ? 0 : 1;
