// IlgpuVit benchmarks: `kernels|train-step [--json PATH] [--device SPEC] [--quick]` (train-step also --model, --batch);
// `profile [--model NAME] [--batch N] [--method SPEC] [--runs N] [--json PATH]` (time per kernel family);
// `ratios [--json PATH] [--rounds N] [--runs N] [--only NAME,...]` against the libtorch peer (docs/benchmarks.md);
// `onnx [--model NAME] [--batch N] [--method SPEC] [--rounds N] [--runs N] [--json PATH]` against ONNX Runtime (docs/onnx.md).
using IlgpuVit.Benchmarks;

const string Usage = "usage: IlgpuVit.Benchmarks kernels|train-step [--json PATH] [--device cpu|cuda|opencl] [--quick] [--model NAME] [--batch N]\n" +
    "       IlgpuVit.Benchmarks ratios [--json PATH] [--rounds N] [--runs N] [--only NAME,...]\n" +
    "       IlgpuVit.Benchmarks profile [--model NAME] [--batch N] [--method SPEC] [--runs N] [--json PATH]\n" +
    "       IlgpuVit.Benchmarks onnx [--model NAME] [--batch N] [--method SPEC] [--rounds N] [--runs N] [--json PATH]";
// The options each command reads (flags take no value); anything else is refused before minutes of measuring start.
var commands = new Dictionary<string, (string[] Values, string[] Flags)>
{
    ["kernels"] = (["--device", "--json"], ["--quick"]),
    ["train-step"] = (["--device", "--json", "--model", "--batch"], ["--quick"]),
    ["profile"] = (["--model", "--batch", "--method", "--runs", "--json"], []),
    ["ratios"] = (["--json", "--rounds", "--runs", "--only"], []),
    ["onnx"] = (["--model", "--batch", "--method", "--rounds", "--runs", "--json"], []),
};
string command = args.FirstOrDefault() ?? "";
if (command is "-h" or "--help") { Console.WriteLine(Usage); return 0; }
if (!commands.TryGetValue(command, out var known))
{
    Console.Error.WriteLine((command == "" ? "error: name a command." : $"error: unknown command '{command}'.") + "\n" + Usage);
    return 2;
}
var values = new Dictionary<string, string>();
var flags = new HashSet<string>();
for (int i = 1; i < args.Length; i++)
{
    if (args[i] is "-h" or "--help") { Console.WriteLine(Usage); return 0; }
    if (known.Flags.Contains(args[i])) flags.Add(args[i]);
    else if (!known.Values.Contains(args[i])) { Console.Error.WriteLine($"error: {command} has no option '{args[i]}'.\n{Usage}"); return 2; }
    else if (i + 1 >= args.Length) { Console.Error.WriteLine($"error: {args[i]} needs a value."); return 2; }
    else values[args[i]] = args[++i];
}
string? Option(string name) => values.GetValueOrDefault(name);
int Count(string name, int fallback)
{
    if (Option(name) is not { } text) return fallback;
    if (int.TryParse(text, out int n) && n >= 1) return n;
    Console.Error.WriteLine($"error: {name} needs a positive whole number, got '{text}'.");
    Environment.Exit(2);
    return 0;
}

return command switch
{
    "kernels" => KernelBenchmarks.Run(Option("--device") ?? "cpu", Option("--json"), flags.Contains("--quick")),
    "train-step" => TrainStepBenchmark.Run(Option("--device") ?? "cpu", Option("--json"), Option("--model") ?? "vit_micro_patch4_28",
        Count("--batch", 128), flags.Contains("--quick")),
    "profile" => OpProfile.Run(Option("--model") ?? "vit_small_patch16_224", Count("--batch", 1), Option("--method") ?? "none",
        Count("--runs", 10), Option("--json")),
    "ratios" => PeerRatios.Run(Option("--json"), Count("--rounds", 2), Count("--runs", 10), Option("--only")),
    _ => OnnxRatios.Run(Option("--model") ?? "vit_small_patch16_224", Count("--batch", 1), Option("--method") ?? "none",
        Count("--rounds", 3), Count("--runs", 10), Option("--json")),
};
