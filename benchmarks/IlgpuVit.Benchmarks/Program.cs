// IlgpuVit benchmarks: `kernels|train-step [--json PATH] [--device SPEC] [--quick]` (train-step also --model, --batch).
using IlgpuVit.Benchmarks;

var arguments = args.ToList();
string? Option(string name)
{
    int i = arguments.IndexOf(name);
    return i >= 0 && i + 1 < arguments.Count ? arguments[i + 1] : null;
}

switch (arguments.FirstOrDefault())
{
    case "kernels":
        return KernelBenchmarks.Run(Option("--device") ?? "cpu", Option("--json"), arguments.Contains("--quick"));
    case "train-step":
        return TrainStepBenchmark.Run(Option("--device") ?? "cpu", Option("--json"), Option("--model") ?? "vit_micro_patch4_28",
            int.Parse(Option("--batch") ?? "128"), arguments.Contains("--quick"));
    default:
        Console.Error.WriteLine("usage: IlgpuVit.Benchmarks kernels|train-step [--json PATH] [--device cpu|cuda|opencl] [--quick] [--model NAME] [--batch N]");
        return 2;
}
