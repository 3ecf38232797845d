// Ops: the launchers of every forward kernel, one partial file per kernel family, in folders by use:
// Transformer, Convolution, Optimizer, TokenReduction (the kernels reduction methods share), with the
// helpers every family uses (RowMath, FastMath, PartialSums) here. A kernel only one reduction method
// uses sits beside its planner under Reduction/.
// Conventions for every launcher: outputs are written, never allocated (the caller owns them);
// all tensors are on one device and shapes are checked before launch, with errors that name both
// shapes; kernels are loaded once per device.
using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

/// <summary>What <see cref="Ops.ObserveLaunches"/> is told as a launcher starts: its name, device and tensors (null entries are optional ones left out).</summary>
public delegate void LaunchObserver(string op, Device device, ReadOnlySpan<ITensor?> tensors);

/// <summary>
/// Forward kernels of IlgpuVit. Each launcher checks shapes, then runs one ILGPU kernel (GEMM on
/// the CPU runs two: pack, then multiply) on the tensors' device.
/// </summary>
public static partial class Ops
{
    private static readonly AsyncLocal<LaunchObserver?> Observer = new();

    /// <summary>
    /// Calls <paramref name="observer"/> as every launcher on this thread starts, with the name its errors use ("Softmax",
    /// "Map" for the elementwise family), its device and its tensors (inputs and outputs), until the result is disposed.
    /// Diagnostics: the device check proves with it that every kernel ran, the op profile (docs/benchmarks.md) times each
    /// family. Observing costs one lookup per launch when nothing observes.
    /// </summary>
    public static IDisposable ObserveLaunches(LaunchObserver observer)
    {
        var previous = Observer.Value;
        Observer.Value = observer;
        return new ObserverScope(previous);
    }

    /// <summary>Adds the name of every launcher that runs on this thread to <paramref name="names"/> until the result is disposed.</summary>
    public static IDisposable TraceLaunches(ISet<string> names) => ObserveLaunches((op, _, _) => names.Add(op));

    private sealed class ObserverScope(LaunchObserver? previous) : IDisposable
    {
        public void Dispose() => Observer.Value = previous;
    }

    /// <summary>
    /// The device all of an operation's tensors live on (null entries are optional tensors left out). Each tensor counts as
    /// written (its <see cref="ITensor.Version"/> moves on): launchers do not say which are outputs, and a spare count only
    /// costs a cache a rebuild.
    /// </summary>
    /// <exception cref="ArgumentException">The tensors live on different devices; the message names them.</exception>
    internal static Device OnOneDevice(string op, params ReadOnlySpan<ITensor?> tensors) => OnOneDeviceReading(op, -1, tensors);

    /// <summary>
    /// <see cref="OnOneDevice"/> for a launcher that only reads <c>tensors[onlyRead]</c> (GEMM's B): its version stays, so
    /// what is derived from it (its packed copy) stays valid.
    /// </summary>
    internal static Device OnOneDeviceReading(string op, int onlyRead, params ReadOnlySpan<ITensor?> tensors)
    {
        // A span, not an array: every launch calls this, and it should not allocate.
        ITensor? first = null;
        foreach (var t in tensors)
        {
            if (t is null) continue;
            first ??= t;
            if (t.Device != first.Device)
                throw new ArgumentException($"{op}: tensors live on different devices ({first.Shape} on {first.Device}, {t.Shape} on {t.Device}); copy them to one device first.");
        }
        for (int i = 0; i < tensors.Length; i++)
            if (i != onlyRead) tensors[i]?.MarkWritten();
        Observer.Value?.Invoke(op, first!.Device, tensors);
        return first!.Device;
    }

    /// <summary>
    /// Rows one kernel index covers: ILGPU's CPU accelerator pays some tens of nanoseconds per index, so
    /// there an index takes a block of rows (about eight blocks per worker, for balance); on GPUs one row.
    /// </summary>
    internal static int RowsPerIndex(Device device, int rows) =>
        device.UsesCpuFastPath ? Math.Max(1, rows / (8 * Device.CpuWorkers)) : 1;

    /// <summary>Kernel indices for <paramref name="rows"/> rows in blocks of <paramref name="rowsPerIndex"/>.</summary>
    internal static int Blocks(int rows, int rowsPerIndex) => (rows + rowsPerIndex - 1) / rowsPerIndex;
}
