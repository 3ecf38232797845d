// Ctrl-C and SIGTERM for the commands that train (docs/runs.md, "Interrupts"): the first one cancels
// a token, so the run finishes the step under way, checkpoints it and stops; a second one takes the
// signal's default action and ends the process at once.

using System.Runtime.InteropServices;

namespace IlgpuVit.Cli;

internal sealed class StopSignal : IDisposable
{
    /// <summary>Exit code of a run stopped by a signal, as shells report one (128 + SIGINT).</summary>
    public const int ExitCode = 130;

    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _signals;

    private StopSignal() => _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];

    /// <summary>Listens for SIGINT and SIGTERM until disposed.</summary>
    public static StopSignal Listen() => new();

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _signals) > 1) return;     // the second one takes its default action: the process ends now
        context.Cancel = true;
        Console.Error.WriteLine($"\n{context.Signal}: stopping after the step under way and writing a checkpoint (again to abort at once).");
        _stop.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _stop.Dispose();
    }
}
