// Training with token reduction and Gradient-Aware Scaling from the library API: eTPS whose pruning
// rate GAS adjusts every tenth of an epoch from the loss and gradient norm, on part of Fashion-MNIST.
// Prints the rate trajectory as it goes and the result; exit code 1 if the model did not learn or GAS
// never moved the rate.
//   dotnet run -c Release --project examples/TrainWithGas [-- IMAGES EPOCHS [DEVICE]]
using IlgpuVit.Training;

int images = args.Length > 0 ? int.Parse(args[0]) : 12000;
int epochs = args.Length > 1 ? int.Parse(args[1]) : 3;
var options = new TrainingOptions { Epochs = epochs, WarmupEpochs = 0.3f, Method = "etps", Adjust = "gas" };
var settings = new RunSettings("vit_micro_patch4_28", "fashion-mnist", null, options, Path.Combine(Path.GetTempPath(), "ilgpuvit-gas-example"),
    TrainLimit: images, TestLimit: 2000, Device: args.Length > 2 ? args[2] : "auto");
if (Directory.Exists(settings.OutDir)) Directory.Delete(settings.OutDir, recursive: true);   // a fresh run, not a resume

var rates = new List<double>();
var summary = TrainingRun.Execute(settings, new RatePrinter(rates));
Console.WriteLine($"final: {summary.Method}, test accuracy {summary.TestAccuracy:P2}, {summary.MacsPerImage / 1e9:F4} GMACs per image, " +
                  $"{summary.Steps} steps in {summary.TrainSeconds:F0} s");
bool ok = summary.TestAccuracy > 0.6 && rates.Distinct().Count() > 1;
Console.WriteLine(ok ? "OK" : "FAILED: the model did not learn, or GAS never moved the rate");
return ok ? 0 : 1;

// Prints the pruning rate whenever GAS changes it, and each epoch's evaluation.
sealed class RatePrinter(List<double> rates) : ITrainingObserver
{
    public void Run(Trainer trainer, Action<Action<StepResult, double, double>> body) => body((step, _, rate) =>
    {
        if (rates.Count == 0 || rates[^1] != rate)
            Console.WriteLine($"step {step.Step,4} (epoch {step.Epoch + 1}): loss {step.Loss:F4}, grad norm {step.GradNorm:F3} -> pruning rate {rate:F4}");
        rates.Add(rate);
    });

    public void Epoch(Trainer trainer, int epoch, EvaluationResult result) =>
        Console.WriteLine($"epoch {epoch}: test accuracy {result.Accuracy:P2}, {result.MacsPerImage / 1e9:F4} GMACs per image");
}
