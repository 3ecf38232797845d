// IlgpuVit benchmarks: `kernels [--json PATH] [--device SPEC] [--quick]`.
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
    default:
        Console.Error.WriteLine("usage: IlgpuVit.Benchmarks kernels [--json PATH] [--device cpu|cuda|opencl] [--quick]");
        return 2;
}
