// IlgpuVit benchmarks: `kernels|train-step [--json PATH] [--device SPEC] [--quick]` (train-step also --model, --batch);
// `profile [--model NAME] [--batch N] [--method SPEC] [--runs N] [--json PATH]` (time per kernel family);
// `ratios [--json PATH] [--rounds N] [--runs N] [--only NAME,...]` against the libtorch peer (docs/benchmarks.md);
// `onnx [--model NAME] [--batch N] [--method SPEC] [--rounds N] [--runs N] [--json PATH]` against ONNX Runtime (docs/onnx.md).
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
    case "profile":
        return OpProfile.Run(Option("--model") ?? "vit_small_patch16_224", int.Parse(Option("--batch") ?? "1"), Option("--method") ?? "none",
            int.Parse(Option("--runs") ?? "10"), Option("--json"));
    case "ratios":
        return PeerRatios.Run(Option("--json"), int.Parse(Option("--rounds") ?? "2"), int.Parse(Option("--runs") ?? "10"), Option("--only"));
    case "onnx":
        return OnnxRatios.Run(Option("--model") ?? "vit_small_patch16_224", int.Parse(Option("--batch") ?? "1"), Option("--method") ?? "none",
            int.Parse(Option("--rounds") ?? "3"), int.Parse(Option("--runs") ?? "10"), Option("--json"));
    default:
        Console.Error.WriteLine("usage: IlgpuVit.Benchmarks kernels|train-step [--json PATH] [--device cpu|cuda|opencl] [--quick] [--model NAME] [--batch N]\n       IlgpuVit.Benchmarks ratios [--json PATH] [--rounds N] [--runs N] [--only NAME,...]\n       IlgpuVit.Benchmarks profile [--model NAME] [--batch N] [--method SPEC] [--runs N] [--json PATH]\n       IlgpuVit.Benchmarks onnx [--model NAME] [--batch N] [--method SPEC] [--rounds N] [--runs N] [--json PATH]");
        return 2;
}
