// The `ilgpuvit` command. Each subcommand lives in its own file and adds itself to the root here.
using System.CommandLine;
using IlgpuVit.Cli;

var root = new RootCommand("IlgpuVit: Vision Transformers with dynamic token reduction on ILGPU (CUDA, OpenCL, CPU).")
{
    InfoCommand.Create(),
    TrainCommand.Create(),
    EvalCommand.Create(),
    PredictCommand.Create(),
    BenchCommand.Create(),
    ExperimentCommand.Create(),
    CheckCommand.Create(),
    ExportCommand.Create(),
};
return root.Parse(args).Invoke();
