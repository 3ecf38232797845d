// How the CPU fast path launches its kernels (docs/backends.md, "Launching on the CPU").
//
// Why: ILGPU's CPU accelerator wakes its worker threads through events on every launch and waits for
// them on a barrier. In this VM an empty launch costs about 41 µs that way (`kernels`, "launch"), and a
// forward of a small model makes some sixty launches, so launching was a tenth of its time and did not
// shrink when pruning removed tokens. The fast path's kernels are plain .NET methods with coarse indices
// (CpuFastPath.cs), so the device runs them itself: the calling thread takes indices beside (cores − 1)
// workers, which spin for a moment after each launch (the next one usually follows within
// microseconds) and then sleep. Indices go out in chunks from a shared counter; the launch returns when
// every index has run, as ILGPU's CPU launches do, so the stream's order holds.
// ILGPU still compiles every kernel for CUDA and OpenCL and runs them on the GPU simulator; kernels that
// use groups, shared memory or warps are loaded through ILGPU on every accelerator.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using ILGPU.Runtime;

namespace IlgpuVit.Runtime;

/// <summary>Runs the indices of a CPU fast-path launch on the calling thread and the device's workers.</summary>
internal sealed class CpuLauncher : IDisposable
{
    /// <summary>Set to "ilgpu" to launch through ILGPU's CPU accelerator instead (for comparisons).</summary>
    public const string Switch = "ILGPUVIT_CPU_LAUNCH";

    // How long an idle worker spins before it sleeps: longer than the host work between two launches of a forward.
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000;   // 200 µs
    private static readonly ConditionalWeakTable<Accelerator, CpuLauncher> Launchers = new();

    private readonly Thread[] _workers;
    private readonly Lock _launch = new();
    private readonly SemaphoreSlim _wake = new(0);
    private Action<int>? _body;
    private int _count, _chunk, _next, _joinable, _active, _sleeping, _generation;
    private Exception? _error;
    private volatile bool _disposed;

    private CpuLauncher(int threads)
    {
        _workers = new Thread[threads - 1];
        for (int w = 0; w < _workers.Length; w++)
        {
            _workers[w] = new Thread(Worker) { IsBackground = true, Name = $"IlgpuVit CPU worker {w + 1}" };
            _workers[w].Start();
        }
    }

    /// <summary>Gives <paramref name="accelerator"/> a launcher of <paramref name="threads"/> threads (the caller and the workers).</summary>
    public static CpuLauncher Attach(Accelerator accelerator, int threads)
    {
        var launcher = new CpuLauncher(Math.Max(1, threads));
        Launchers.AddOrUpdate(accelerator, launcher);
        return launcher;
    }

    /// <summary>The launcher of <paramref name="accelerator"/>, or null when ILGPU launches its kernels.</summary>
    public static CpuLauncher? Of(Accelerator accelerator) => Launchers.TryGetValue(accelerator, out var launcher) ? launcher : null;

    /// <summary>Threads that run a launch's indices, the caller included.</summary>
    public int Threads => _workers.Length + 1;

    /// <summary>Runs <paramref name="body"/> for every index in [0, <paramref name="count"/>) and returns when all have run.</summary>
    /// <exception cref="ObjectDisposedException">The device was disposed.</exception>
    public void For(int count, Action<int> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0) return;
        if (count == 1 || _workers.Length == 0)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        lock (_launch)
        {
            _body = body;
            _count = count;
            _chunk = Math.Max(1, count / (4 * Threads));   // a few chunks per thread, so uneven indices even out
            _next = 0;
            _error = null;
            Volatile.Write(ref _joinable, _workers.Length);
            Interlocked.Increment(ref _generation);
            int sleeping = Interlocked.Exchange(ref _sleeping, 0);
            if (sleeping > 0) _wake.Release(sleeping);
            Work();
            // Once the caller is done, no worker may join: one still waking up would only delay the return. Those that
            // joined are waited for (a worker counts itself active before it tries to join, so none slips through).
            Interlocked.Exchange(ref _joinable, int.MinValue / 2);
            var spin = new SpinWait();
            while (Volatile.Read(ref _active) != 0) spin.SpinOnce(sleep1Threshold: -1);
            _body = null;
            if (_error is { } error) ExceptionDispatchInfo.Throw(error);
        }
    }

    private void Work()
    {
        var body = _body!;
        try
        {
            int start;
            while ((start = Interlocked.Add(ref _next, _chunk) - _chunk) < _count)
                for (int i = start, end = Math.Min(_count, start + _chunk); i < end; i++) body(i);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            Volatile.Write(ref _next, _count);   // the others stop taking indices
        }
    }

    private void Worker()
    {
        int seen = 0;
        while (true)
        {
            long idleSince = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _generation) == seen)
            {
                if (_disposed) return;
                if (Stopwatch.GetTimestamp() - idleSince < SpinTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                // Counted as sleeping before the last look: a launch that follows releases this worker, and one that came
                // between leaves a spare permit, which only wakes it once for nothing.
                Interlocked.Increment(ref _sleeping);
                if (Volatile.Read(ref _generation) == seen && !_disposed) _wake.Wait();
                idleSince = Stopwatch.GetTimestamp();
            }
            seen = Volatile.Read(ref _generation);
            if (_disposed) return;
            Interlocked.Increment(ref _active);
            if (Interlocked.Decrement(ref _joinable) >= 0) Work();
            Interlocked.Decrement(ref _active);
        }
    }

    /// <summary>Stops the workers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_workers.Length > 0) _wake.Release(_workers.Length);
        foreach (var worker in _workers) worker.Join();
        _wake.Dispose();
    }
}
