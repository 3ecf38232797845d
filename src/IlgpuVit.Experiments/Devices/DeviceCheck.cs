// `ilgpuvit check`: does a device compute what the CPU computes, and how fast is it? Three parts:
//   1. every kernel case (KernelCases) on the device and on the CPU accelerator with the same inputs;
//   2. whole models on both: a training step (loss and every gradient) of the plain model and under
//      each reduction method, with the same weights and images; this is where the planners' kernels
//      run, on real attention;
//   3. timings on the device (DeviceTimings).
// Parts 1 and 2 run under Ops.TraceLaunches, and the report lists any launcher neither reached. The
// CPU accelerator is the reference because the tests check it against float64 (docs/backends.md).

using System.Diagnostics;
using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;

namespace IlgpuVit.Experiments.Devices;

/// <summary>What to check.</summary>
/// <param name="Device">The device under test (a Device.Open spec).</param>
/// <param name="Quick">Small shapes and the micro model only: minutes on a CPU (CI runs this).</param>
/// <param name="Timings">Whether to time (part 3); comparisons alone otherwise.</param>
public sealed record DeviceCheckSettings(string Device = "auto", bool Quick = false, bool Timings = true);

/// <summary>Runs the check.</summary>
public static class DeviceCheck
{
    /// <summary>The reduction specs whose forward and backward are compared, and timed on the models.</summary>
    public static readonly string[] Specs = ReductionMethod.Methods.Select(method => ReductionMethod.WithRate(method, 0.06)).ToArray();

    /// <summary>The public methods of Ops that observe launches rather than launch kernels.</summary>
    public static IReadOnlyList<string> Diagnostics { get; } = [nameof(Ops.TraceLaunches), nameof(Ops.ObserveLaunches)];

    /// <summary>Every launcher of Ops the check must reach, by the name its errors use (wrappers report the family: Add is "Map").</summary>
    public static IReadOnlyList<string> Launchers { get; } = typeof(Ops).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Select(m => m.Name).Except(Diagnostics).Select(Family).Distinct().Order().ToArray();

    /// <summary>The name a public launcher reports when it runs (the elementwise ones run Map, the reductions Reduce, MatMul runs Gemm).</summary>
    public static string Family(string launcher) => launcher switch
    {
        "Add" or "Subtract" or "Multiply" or "Exp" or "Scale" or "Gelu" or "Relu" or "GeluBackward" or "ReluBackward" or "MapBackward" => "Map",
        "Sum" or "Mean" or "Max" => "Reduce",
        "MatMul" => "Gemm",
        _ => launcher,
    };

    /// <summary>Runs the parts <paramref name="settings"/> asks for, reporting each line to <paramref name="progress"/>.</summary>
    /// <exception cref="BackendNotFoundException">The device is absent.</exception>
    public static DeviceCheckReport Run(DeviceCheckSettings settings, Action<string>? progress = null)
    {
        using var device = Device.Open(settings.Device);
        using var cpu = Device.Open(Backend.Cpu);
        return Run(device, cpu, settings, progress);
    }

    /// <summary>Checks <paramref name="device"/> against <paramref name="cpu"/> (the tests pass the GPU simulator as the device).</summary>
    internal static DeviceCheckReport Run(Device device, Device cpu, DeviceCheckSettings settings, Action<string>? progress)
    {
        var clock = Stopwatch.StartNew();
        var info = DeviceDescription.Of(device);
        progress?.Invoke($"device: {info}");

        var launched = new HashSet<string>();
        var comparisons = new List<Comparison>();
        using (Ops.TraceLaunches(launched))
        {
            foreach (var kernel in KernelCases.All(settings.Quick))
            {
                var result = Compare(kernel.Name, kernel.Shape, kernel.Tolerance, inputs => kernel.Run(inputs), device, cpu);
                comparisons.Add(result);
                progress?.Invoke(result.ToString());
            }
            var config = ModelRegistry.Get(settings.Quick ? "vit_micro_patch4_32" : "vit_small_patch16_224");
            foreach (var spec in Specs.Prepend("none"))
            {
                var result = Compare($"{config.Name} training step, {spec}", "batch 2: logits, loss and every gradient", ModelTolerance,
                    inputs => TrainingStep(inputs, config, spec), device, cpu);
                comparisons.Add(result);
                progress?.Invoke(result.ToString());
            }
        }
        var missing = Launchers.Except(launched).ToArray();
        if (missing.Length > 0) progress?.Invoke($"not reached: {string.Join(", ", missing)}");
        var timings = settings.Timings ? DeviceTimings.Run(device, settings.Quick, progress) : null;
        return new DeviceCheckReport(info, settings.Quick, comparisons, launched.Order().ToArray(), missing, timings, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Whole models: the same weights and images, but every GEMM sums in its own order.</summary>
    private const double ModelTolerance = 2e-3;

    /// <summary>Runs <paramref name="run"/> on both devices and compares output by output.</summary>
    internal static Comparison Compare(string name, string shape, double tolerance, Func<CaseInputs, ITensor[]> run, Device device, Device cpu)
    {
        try
        {
            var expected = Outputs(run, cpu);
            var actual = Outputs(run, device);
            double worst = 0;
            int worstOutput = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                double error = RelativeError(actual[i], expected[i]);
                if (!(error <= worst)) (worst, worstOutput) = (error, i);
            }
            return new Comparison(name, shape, tolerance, worst, worstOutput, worst <= tolerance, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new Comparison(name, shape, tolerance, double.NaN, 0, false, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static float[][] Outputs(Func<CaseInputs, ITensor[]> run, Device device)
    {
        using var inputs = new CaseInputs(device);
        return run(inputs).Select(AsFloats).ToArray();
    }

    private static float[] AsFloats(ITensor tensor) => tensor switch
    {
        Tensor<float> f => f.ToArray(),
        Tensor<int> i => Array.ConvertAll(i.ToArray(), v => (float)v),
        _ => throw new NotSupportedException($"Output of type {tensor.GetType().Name}."),
    };

    /// <summary>
    /// max |actual − expected| over max |expected| (1 when that is 0), over the finite values; a value that is NaN or infinite
    /// on one side must be the same on the other, else the error is NaN.
    /// </summary>
    public static double RelativeError(float[] actual, float[] expected)
    {
        if (actual.Length != expected.Length) return double.PositiveInfinity;
        double scale = 0, error = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (!float.IsFinite(expected[i]) || !float.IsFinite(actual[i]))
            {
                if (!actual[i].Equals(expected[i])) return double.NaN;
                continue;
            }
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
            error = Math.Max(error, Math.Abs((double)actual[i] - expected[i]));
        }
        return error / (scale > 0 ? scale : 1);
    }

    /// <summary>Forward under <paramref name="spec"/>, cross-entropy, backward: the logits, the loss and every parameter's gradient.</summary>
    private static ITensor[] TrainingStep(CaseInputs inputs, VitConfig config, string spec)
    {
        var model = new VisionTransformer(config, inputs.Device, seed: 3);
        try
        {
            ReductionMethod.Apply(model, spec);
            var images = inputs.Uniform(7, 1, 2, config.InChannels, config.ImageSize, config.ImageSize);
            var labels = inputs.Ints(8, config.Classes, 2);
            using var tape = new Tape();
            var logits = model.Forward(tape, images);
            var loss = tape.CrossEntropy(logits, labels, 0.1f);
            var outputs = new List<ITensor> { Copy(inputs, logits.Value), Copy(inputs, loss.Value) };     // backward frees them
            tape.Backward(loss);
            outputs.AddRange(model.Parameters().Select(p => Copy(inputs, p.Grad ?? throw new InvalidOperationException($"{p.Name} got no gradient."))));
            return outputs.ToArray();
        }
        finally
        {
            model.Dispose();
        }
    }

    private static Tensor<float> Copy(CaseInputs inputs, Tensor<float> source)
    {
        var copy = inputs.Zeros(source.Shape.Dims.ToArray());
        Ops.Copy(source, copy);
        return copy;
    }
}
