// Options and error handling every command shares: --device, --json, and turning a user's mistake
// (bad file, unknown name, bad value, a failed write) into one clear line and exit code 1 instead of
// a stack trace.

using System.CommandLine;
using System.Text.Json;
using IlgpuVit.Data;
using IlgpuVit.Runtime;
using IlgpuVit.IO;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class CommonOptions
{
    public static readonly JsonSerializerOptions JsonStyle = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static Option<string> Device() =>
        new("--device") { Description = "Accelerator: auto, cpu, cuda[:N] or opencl[:N].", DefaultValueFactory = _ => "auto" };

    public static Option<bool> Json() => new("--json") { Description = "Print a JSON summary for scripts (no progress display)." };

    /// <summary>Runs a command; errors caused by the user's input print one line and exit 1.</summary>
    public static int Guard(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (e is ArgumentException or DatasetFormatException or SafeTensorsFormatException or FileNotFoundException
                                      or DirectoryNotFoundException or BackendNotFoundException or DeviceOutOfMemoryException
                                      or ShapeMismatchException or Training.TrainingDivergedException or FormatException
                                      or WeightImportException)
        {
            AnsiConsole.Console.Profile.Out.Writer.Flush();
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk, a read-only or forbidden folder, a file where a folder should be: the path and the cause.
            AnsiConsole.Console.Profile.Out.Writer.Flush();
            Console.Error.WriteLine($"error: {IoErrors.Describe(e)}");
            return 1;
        }
    }
}
