// A device: one ILGPU Context + Accelerator, its tensor pool and its loaded kernels.
// Kernels are loaded once per device through Kernel() and cached by their loader delegate, so no
// launcher calls Load*Kernel on a hot path.
using System.Collections.Concurrent;
using System.Reflection;
using ILGPU.Algorithms;
using ILGPU.IR;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using ILGPU.Runtime;

namespace IlgpuVit.Runtime;

/// <summary>
/// An accelerator with its memory pool and kernels. Create one with <see cref="Open(Backend?, int)"/>,
/// allocate tensors with <see cref="Zeros"/> or <see cref="FromArray"/>, and dispose it last.
/// </summary>
/// <example>
/// <code>
/// using var device = Device.Open();               // CUDA, else OpenCL, else CPU
/// using var x = device.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
/// using var y = device.Zeros(2, 2);
/// Ops.Softmax(x, y);
/// float[] probabilities = y.ToArray();
/// </code>
/// </example>
public sealed class Device : IDisposable
{
    private readonly Context _context;
    private readonly ConcurrentDictionary<Delegate, Delegate> _kernels = new();
    private readonly CpuLauncher? _launcher;
    private bool _disposed;

    private Device(Context context, Accelerator accelerator, DeviceInfo info, bool simulatesGpu = false, bool ilgpuLaunches = false)
    {
        SimulatesGpu = simulatesGpu;
        _context = context;
        Accelerator = accelerator;
        Info = info;
        Pool = new TensorPool(this);
        GroupSize = accelerator.AcceleratorType == AcceleratorType.CPU
            ? 1   // see CpuShape: groups of one thread
            : Math.Min(256, accelerator.MaxNumThreadsPerGroup);
        if (UsesCpuFastPath && !ilgpuLaunches && Environment.GetEnvironmentVariable(CpuLauncher.Switch) != "ilgpu")
            _launcher = CpuLauncher.Attach(accelerator, info.ComputeUnits);
    }

    /// <summary>What this device is.</summary>
    public DeviceInfo Info { get; }

    /// <summary>The accelerator family.</summary>
    public Backend Backend => Info.Backend;

    /// <summary>The pool every tensor of this device is allocated from.</summary>
    public TensorPool Pool { get; }

    /// <summary>The underlying ILGPU accelerator, for users who launch their own kernels.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>A CPU accelerator shaped like a GPU that runs the GPU kernels (tests only; see <see cref="OpenGpuSimulator"/>).</summary>
    internal bool SimulatesGpu { get; }

    /// <summary>
    /// Whether kernels run the CPU fast path here: one kernel index covers coarse work (a row, a chunk,
    /// a run of GEMM tiles). Elsewhere (GPUs and the GPU simulator) an index covers one element or row.
    /// </summary>
    internal bool UsesCpuFastPath => Backend == Backend.Cpu && !SimulatesGpu;

    /// <summary>Threads per group for implicitly grouped launches (the core count on the CPU).</summary>
    internal int GroupSize { get; }

    /// <summary>Number of workers of the CPU accelerator: one per core.</summary>
    public static int CpuWorkers => Environment.ProcessorCount;

    /// <summary>Opens a device. With no backend: CUDA, then OpenCL, then CPU.</summary>
    /// <exception cref="BackendNotFoundException">The backend or index is absent; the message lists the devices present.</exception>
    public static Device Open(Backend? backend = null, int index = 0)
    {
        var context = CreateContext();
        try
        {
            var all = Describe(context);
            var chosen = backend is null
                ? all.OrderBy(d => d.Info.Backend).First()
                : all.Where(d => d.Info.Backend == backend).ElementAtOrDefault(index);
            if (chosen.Device is null)
                throw new BackendNotFoundException(
                    $"No {backend} device with index {index}. Present: {string.Join(", ", all.Select(d => $"{d.Info.Spec} ({d.Info.Name})"))}.");
            return new Device(context, chosen.Device.CreateAccelerator(context), chosen.Info);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A CPU accelerator with 256-thread groups (one OS thread each) that runs the GPU code paths,
    /// such as the shared-memory GEMM, so they are tested on machines without a GPU. Slow; tests only.
    /// </summary>
    internal static Device OpenGpuSimulator()
    {
        var shape = new CPUDevice(32, 8, 1);
        var context = CreateContext();
        var info = new DeviceInfo(Backend.Cpu, 0, "CPU simulating a GPU (32-thread warps, 256-thread groups)", 0, 1, shape.MaxNumThreadsPerGroup);
        return new Device(context, shape.CreateAccelerator(context), info, simulatesGpu: true);
    }

    /// <summary>
    /// A CPU accelerator of <paramref name="cores"/> workers (a data-parallel member of several in one process: docs/distributed.md).
    /// Its spec is "cpu-N".
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one core.</exception>
    public static Device OpenCpu(int cores) => OpenCpu(cores, ilgpuLaunches: false);

    /// <summary>As <see cref="OpenCpu(int)"/>; with <paramref name="ilgpuLaunches"/>, kernels launch through ILGPU's CPU accelerator (CpuLauncher.cs).</summary>
    internal static Device OpenCpu(int cores, bool ilgpuLaunches)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cores, 1);
        var shape = typeof(CPUDevice).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, [typeof(int), typeof(int), typeof(int), typeof(bool)])
            ?.Invoke([1, 1, cores, true]) as CPUDevice ?? new CPUDevice(2, 1, cores);
        var context = CreateContext();
        var info = new DeviceInfo(Backend.Cpu, 0, $"CPU ({cores} core{(cores == 1 ? "" : "s")})", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, cores,
            shape.MaxNumThreadsPerGroup) { SpecOverride = $"cpu-{cores}" };
        return new Device(context, shape.CreateAccelerator(context), info, ilgpuLaunches: ilgpuLaunches);
    }

    /// <summary>
    /// The devices of a data-parallel group in one process, or null when <paramref name="spec"/> names one device: "cpu:N" with N
    /// at least 2 gives N CPU accelerators of one core each ("cpu-1"); a comma list ("cuda:0,cuda:1") gives its devices.
    /// </summary>
    /// <exception cref="ArgumentException">An empty list item, or the same device twice.</exception>
    public static IReadOnlyList<string>? Group(string spec)
    {
        var trimmed = spec.Trim().ToLowerInvariant();
        if (trimmed.Contains(','))
        {
            var items = trimmed.Split(',').Select(s => s.Trim()).ToArray();
            if (items.Any(string.IsNullOrEmpty)) throw new ArgumentException($"Device list '{spec}' has an empty item.", nameof(spec));
            if (items.Distinct().Count() != items.Length) throw new ArgumentException($"Device list '{spec}' names a device twice.", nameof(spec));
            return items;
        }
        var parts = trimmed.Split(':');
        if (parts.Length == 2 && parts[0] == "cpu" && int.TryParse(parts[1], out int n) && n >= 2)
            return Enumerable.Repeat("cpu-1", n).ToArray();
        return null;
    }

    /// <summary>Opens a device by spelling: "cpu", "cpu-N" (N cores), "cuda", "cuda:1", "opencl:0", or "auto".</summary>
    /// <exception cref="ArgumentException">The spelling is not one of those.</exception>
    public static Device Open(string spec)
    {
        var lower = spec.Trim().ToLowerInvariant();
        if (lower.StartsWith("cpu-", StringComparison.Ordinal))
            return int.TryParse(lower[4..], out int cores) && cores >= 1 ? OpenCpu(cores)
                : throw new ArgumentException($"Bad core count in '{spec}': cpu-N takes N >= 1.", nameof(spec));
        var parts = lower.Split(':');
        Backend? backend = parts[0] switch
        {
            "auto" or "" => null,
            "cpu" => Backend.Cpu,
            "cuda" => Backend.Cuda,
            "opencl" or "cl" => Backend.OpenCL,
            _ => throw new ArgumentException($"Unknown device '{spec}'. Use auto, cpu, cuda[:N] or opencl[:N].", nameof(spec)),
        };
        int index = 0;
        if (parts.Length > 2 || (parts.Length == 2 && (!int.TryParse(parts[1], out index) || index < 0)))
            throw new ArgumentException($"Bad device index in '{spec}'. Use auto, cpu, cuda[:N] or opencl[:N].", nameof(spec));
        return Open(backend, index);
    }

    /// <summary>Every accelerator ILGPU finds on this machine, in default-choice order.</summary>
    public static IReadOnlyList<DeviceInfo> List()
    {
        using var context = CreateContext();
        return Describe(context).Select(d => d.Info).ToList();
    }

    /// <summary>A new zero-filled tensor.</summary>
    public Tensor<float> Zeros(params int[] shape) => Tensor<float>.Zeros(this, shape);

    /// <summary>A new tensor holding a copy of <paramref name="data"/>.</summary>
    /// <exception cref="ShapeMismatchException">The data length differs from the shape's element count.</exception>
    public Tensor<float> FromArray(float[] data, params int[] shape) => Tensor<float>.FromArray(this, data, shape);

    /// <summary>Waits until every launched kernel has finished.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <summary>
    /// The kernel that <paramref name="load"/> returns, loaded once per device. Pass a static lambda:
    /// the compiler caches it, so the lambda itself is the cache key.
    /// </summary>
    internal TKernel Kernel<TKernel>(Func<Accelerator, int, TKernel> load) where TKernel : Delegate =>
        (TKernel)_kernels.GetOrAdd(load, static (_, arg) => arg.load(arg.self.Accelerator, arg.self.GroupSize), (load, self: this));

    /// <summary>Creates the ILGPU context every device uses: all backends, algorithms, the CPU fast path.</summary>
    internal static Context CreateContext() => Context.Create(builder =>
    {
        builder.Cuda().OpenCL()
            .CPU(CpuShape())
            .EnableAlgorithms()
            .Math(MathMode.Fast32BitOnly)
            .Optimize(OptimizationLevel.O1);
        CpuFastPath.Register(builder.GetIntrinsicManager(), typeof(Device).Assembly);
    });

    /// <summary>
    /// The CPU accelerator's shape: one multiprocessor per core, each a single thread running groups
    /// of one. Why, measured on 2 cores: ILGPU ends every group with a System.Threading.Barrier across
    /// the group's threads, which never waits with one thread (two per group cost ~2 us per group,
    /// 15x on softmax); and every launch wakes every thread, so the idle second thread of ILGPU's
    /// minimum warp of 2 tripled the launch cost (79 us vs 16 us for an empty kernel). CPUDevice's
    /// public constructor refuses a warp of 1, so its checking-free constructor is called; if a later
    /// ILGPU lacks it, the public shape with warps of 2 is used.
    /// </summary>
    internal static CPUDevice CpuShape()
    {
        var unchecked_ = typeof(CPUDevice).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance,
            [typeof(int), typeof(int), typeof(int), typeof(bool)]);
        return unchecked_?.Invoke([1, 1, CpuWorkers, true]) as CPUDevice ?? new CPUDevice(2, 1, CpuWorkers);
    }

    private static List<(ILGPU.Runtime.Device Device, DeviceInfo Info)> Describe(Context context)
    {
        var found = new List<(ILGPU.Runtime.Device, DeviceInfo)>();
        foreach (var backend in new[] { Backend.Cuda, Backend.OpenCL, Backend.Cpu })
        {
            var devices = context.Devices.Where(d => d.AcceleratorType == ToIlgpu(backend)).ToList();
            for (int i = 0; i < devices.Count; i++)
            {
                var d = devices[i];
                var cpu = backend == Backend.Cpu;
                found.Add((d, new DeviceInfo(
                    backend, i,
                    cpu ? $"CPU ({CpuWorkers} cores)" : d.Name,
                    cpu ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : d.MemorySize,
                    cpu ? Environment.ProcessorCount : d.NumMultiprocessors,
                    d.MaxNumThreadsPerGroup)));
            }
        }
        return found;
    }

    private static AcceleratorType ToIlgpu(Backend backend) => backend switch
    {
        Backend.Cuda => AcceleratorType.Cuda,
        Backend.OpenCL => AcceleratorType.OpenCL,
        _ => AcceleratorType.CPU,
    };

    /// <summary>Releases pooled memory, the accelerator and the context. Tensors still alive become unusable.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _launcher?.Dispose();
        Pool.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Info.Spec} ({Info.Name})";
}
