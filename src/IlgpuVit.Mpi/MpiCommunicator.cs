// The MPI communicator (docs/distributed.md): MPI_COMM_WORLD of Open MPI through a P/Invoke binding of the
// calls data-parallel training uses (Init, Comm_rank, Comm_size, Allreduce in place, Bcast, Barrier, Abort,
// Finalize). libmpi is loaded with NativeLibrary when the first communicator is created, never before, and its
// handles are Open MPI's exported objects (MPI_COMM_WORLD is &ompi_mpi_comm_world, MPI_FLOAT &ompi_mpi_float,
// MPI_SUM &ompi_mpi_op_sum); MPICH's integer handles are not supported and are refused with a clear error.
// Buffers longer than MaxMessageFloats go in pieces (MPI counts are 32-bit). Errors stay MPI's default,
// fatal: a failed call or a dead rank ends the job through mpirun; Abort ends it on purpose.

using System.Runtime.InteropServices;
using IlgpuVit.Training;

namespace IlgpuVit.Mpi;

/// <summary>The world communicator of an MPI job (start the program under mpirun).</summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private static readonly object Gate = new();
    private static MpiCommunicator? _world;

    private readonly delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int> _allreduce;
    private readonly delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int> _bcast;
    private readonly delegate* unmanaged<IntPtr, int> _barrier;
    private readonly delegate* unmanaged<IntPtr, int, int> _abort;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly IntPtr _comm, _float, _byte, _sum;
    private bool _finalized;

    /// <summary>Largest piece of one all-reduce call, in floats (the check sets a small one to test the cutting).</summary>
    public int MaxMessageFloats
    {
        get => _maxMessageFloats;
        set { ArgumentOutOfRangeException.ThrowIfLessThan(value, 1); _maxMessageFloats = value; }
    }

    private int _maxMessageFloats = 1 << 26;

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <inheritdoc/>
    public string Kind => "mpi";

    /// <summary>The world communicator, MPI initialised on the first call (one per process).</summary>
    /// <exception cref="DllNotFoundException">Open MPI's libmpi is not installed (apt-get install openmpi-bin libopenmpi-dev).</exception>
    /// <exception cref="NotSupportedException">The libmpi found is not Open MPI's.</exception>
    public static MpiCommunicator World()
    {
        lock (Gate) return _world ??= new MpiCommunicator();
    }

    private MpiCommunicator()
    {
        IntPtr lib = Load();
        IntPtr Export(string name) => NativeLibrary.TryGetExport(lib, name, out var p) ? p
            : throw new NotSupportedException($"libmpi lacks {name}: IlgpuVit's MPI binding needs Open MPI (apt-get install openmpi-bin libopenmpi-dev).");
        _comm = Export("ompi_mpi_comm_world");
        _float = Export("ompi_mpi_float");
        _byte = Export("ompi_mpi_byte");
        _sum = Export("ompi_mpi_op_sum");
        _allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int>)Export("MPI_Allreduce");
        _bcast = (delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int>)Export("MPI_Bcast");
        _barrier = (delegate* unmanaged<IntPtr, int>)Export("MPI_Barrier");
        _abort = (delegate* unmanaged<IntPtr, int, int>)Export("MPI_Abort");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        var initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        var init = (delegate* unmanaged<IntPtr, IntPtr, int>)Export("MPI_Init");
        var rank = (delegate* unmanaged<IntPtr, int*, int>)Export("MPI_Comm_rank");
        var size = (delegate* unmanaged<IntPtr, int*, int>)Export("MPI_Comm_size");
        int flag = 0, r = 0, n = 0;
        Check(initialized(&flag), "MPI_Initialized");
        if (flag == 0) Check(init(IntPtr.Zero, IntPtr.Zero), "MPI_Init");
        Check(rank(_comm, &r), "MPI_Comm_rank");
        Check(size(_comm, &n), "MPI_Comm_size");
        Rank = r;
        Size = n;
    }

    private static IntPtr Load()
    {
        foreach (var name in new[] { "libmpi.so.40", "libmpi.so", "libmpi.dylib", "libmpi.40.dylib" })
            if (NativeLibrary.TryLoad(name, out var handle)) return handle;
        throw new DllNotFoundException("Open MPI's libmpi was not found: install it (Debian: apt-get install openmpi-bin libopenmpi-dev) " +
                                       "and start the job with mpirun -np N.");
    }

    private static void Check(int code, string call)
    {
        if (code != 0) throw new CommunicatorException($"{call} failed with MPI error {code}.");
    }

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> data)
    {
        if (Size == 1) return;
        fixed (float* p = data)
            for (int start = 0; start < data.Length; start += MaxMessageFloats)
            {
                int count = Math.Min(MaxMessageFloats, data.Length - start);
                // MPI_IN_PLACE is (void*)1 in Open MPI.
                Check(_allreduce((IntPtr)1, (IntPtr)(p + start), count, _float, _sum, _comm), "MPI_Allreduce");
            }
    }

    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"Root must be a rank of 0..{Size - 1}.");
        if (Size == 1 || data.Length == 0) return;
        fixed (byte* p = data)
            for (int start = 0; start < data.Length; start += int.MaxValue / 2)
                Check(_bcast((IntPtr)(p + start), Math.Min(int.MaxValue / 2, data.Length - start), _byte, root, _comm), "MPI_Bcast");
    }

    /// <inheritdoc/>
    public void Barrier() => Check(_barrier(_comm), "MPI_Barrier");

    /// <summary>Ends the whole job (MPI_Abort with code 1): mpirun stops every rank. <paramref name="error"/> should be printed first.</summary>
    public void Abort(Exception error)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"error: rank {Rank} of {Size} failed, stopping the job: {error.Message}");
        Console.Error.Flush();
        _abort(_comm, 1);
    }

    /// <summary>Finalises MPI (once; the process must not use MPI afterwards).</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_finalized) return;
            _finalized = true;
            _finalize();
        }
    }
}

