// Options and error handling every command shares: --device, --json, and turning a user's mistake
// (bad file, unknown name, bad value, corrupt weights, a failed write) into one clear line and exit code 1
// instead of a stack trace; numeric options checked against their minimum, named as the user typed them.

using System.CommandLine;
using IlgpuVit.Data;
using IlgpuVit.Runtime;
using IlgpuVit.IO;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class CommonOptions
{
    public static Option<string> Device() =>
        new("--device") { Description = "Accelerator: auto, cpu, cpu-N (N cores), cuda[:N] or opencl[:N].", DefaultValueFactory = _ => "auto" };

    public static Option<bool> Json() => new("--json") { Description = "Print a JSON summary for scripts (no progress display)." };

    /// <summary>The value of <paramref name="option"/>, null when it was not given.</summary>
    /// <exception cref="ArgumentException">It was given below <paramref name="minimum"/> (the message names the option as typed).</exception>
    public static int? AtLeast(this ParseResult result, Option<int?> option, int minimum) => Check(result, option, result.GetValue(option), minimum);

    /// <summary>The value of <paramref name="option"/> (its default when not given).</summary>
    /// <exception cref="ArgumentException">It is below <paramref name="minimum"/> (the message names the option as typed).</exception>
    public static int AtLeast(this ParseResult result, Option<int> option, int minimum) => Check(result, option, result.GetValue(option), minimum)!.Value;

    private static int? Check(ParseResult result, Option option, int? value, int minimum)
    {
        string name = result.GetResult(option)?.IdentifierToken?.Value ?? option.Name;
        return value < minimum ? throw new ArgumentException($"{name} must be at least {minimum}, got {value}.") : value;
    }

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
                                      or WeightImportException or NonFiniteWeightsException or Training.CommunicatorException)
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
