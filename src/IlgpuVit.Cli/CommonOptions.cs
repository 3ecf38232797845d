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

    /// <summary>The architecture of pretrained weights (eval and predict).</summary>
    public static Option<string?> Arch() => new("--arch")
    {
        Description = $"With --weights: the architecture, one of {string.Join(", ", Nn.ModelRegistry.Names)}, or a JSON configuration file " +
            $"(fields the tensor shapes give may be left out; {string.Join(", ", IO.ModelConfigs.NotInferable)} cannot be inferred); " +
            "absent: the configuration stored in the weights' metadata.",
    };
}

/// <summary>The preprocessing flags of pretrained weights (eval --weights and predict): a preset and its overrides.</summary>
internal sealed class PreprocessFlags
{
    private readonly Option<string> _preset = new("--preprocess")
    {
        DefaultValueFactory = _ => "augreg",
        Description = "Preprocessing preset: augreg (resize to size / 0.9, centre crop, mean = std = 0.5), deit (the same with ImageNet mean and std) " +
            "or none (no resize, mean 0, std 1: images at the model's size go in as they are).",
    };
    private readonly Option<int?> _resize = new("--resize") { Description = "Resize the short side to N pixels (bicubic) before the crop; 0: no resize." };
    private readonly Option<int?> _crop = new("--crop") { Description = "Side of the centre crop (the model's image size, the default)." };
    private readonly Option<string?> _interpolation = new("--interpolation") { Description = "Resampling of the resize: bicubic (Pillow's, as timm)." };
    private readonly Option<string?> _mean = new("--mean") { Description = "Per-channel mean R,G,B of pixel / 255, e.g. 0.485,0.456,0.406." };
    private readonly Option<string?> _std = new("--std") { Description = "Per-channel std R,G,B, e.g. 0.229,0.224,0.225." };

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => [_preset, _resize, _crop, _interpolation, _mean, _std];

    /// <summary>The settings given.</summary>
    /// <exception cref="ArgumentException">--mean or --std is not three numbers.</exception>
    public Experiments.PreprocessSettings Read(ParseResult result) => new(result.GetValue(_preset)!, result.GetValue(_resize), result.GetValue(_crop),
        result.GetValue(_interpolation),
        result.GetValue(_mean) is { } mean ? Experiments.PreprocessSettings.ParseChannels("--mean", mean) : null,
        result.GetValue(_std) is { } std ? Experiments.PreprocessSettings.ParseChannels("--std", std) : null);
}
