// An in-process communicator group (docs/distributed.md): one member per thread, each driving its own
// accelerator. A collective is two rendezvous on one monitor: every member deposits its data, then each
// reads all deposits (sums in rank order, so every member gets the same bits), then all meet again before
// the deposits are reused. A member that fails marks the group failed: the others, waiting or arriving,
// throw a CommunicatorException naming it, so no member hangs.

namespace IlgpuVit.Training;

/// <summary>A group of <see cref="Size"/> members in one process; <see cref="Members"/>[r] is rank r's communicator.</summary>
public sealed class InProcessGroup
{
    private readonly object _lock = new();
    private readonly float[][] _floats;
    private readonly byte[][] _bytes;
    private readonly int[] _lengths;
    private int _arrived;
    private long _generation;
    private (int Rank, Exception Error)? _failure;

    /// <summary>A group of <paramref name="size"/> members.</summary>
    /// <param name="size">Members, at least 1.</param>
    /// <param name="maxMessageFloats">Largest piece one all-reduce exchange moves (longer buffers go in pieces).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or limit below 1.</exception>
    public InProcessGroup(int size, int maxMessageFloats = 1 << 22)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageFloats, 1);
        Size = size;
        MaxMessageFloats = maxMessageFloats;
        _floats = new float[size][];
        _bytes = new byte[size][];
        _lengths = new int[size];
        for (int r = 0; r < size; r++) { _floats[r] = []; _bytes[r] = []; }
        Members = Enumerable.Range(0, size).Select(r => (ICommunicator)new Member(this, r)).ToArray();
    }

    /// <summary>Members in the group.</summary>
    public int Size { get; }

    /// <summary>Largest piece of one all-reduce exchange, in floats.</summary>
    public int MaxMessageFloats { get; }

    /// <summary>The members' communicators, by rank.</summary>
    public IReadOnlyList<ICommunicator> Members { get; }

    /// <summary>How long a member waits for the others before calling the group stuck.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The first failure, if any: its rank and error.</summary>
    public (int Rank, Exception Error)? Failure { get { lock (_lock) return _failure; } }

    /// <summary>Marks the group failed by <paramref name="rank"/>; the first failure wins.</summary>
    public void Fail(int rank, Exception error)
    {
        lock (_lock)
        {
            _failure ??= (rank, error);
            Monitor.PulseAll(_lock);
        }
    }

    private void ThrowIfFailed(int self)
    {
        if (_failure is { } f)
            throw new CommunicatorException(f.Rank == self ? $"rank {self} failed: {f.Error.Message}"
                : $"rank {f.Rank} of {Size} failed, so rank {self} stops: {f.Error.Message}", f.Error);
    }

    /// <summary>Waits until all members have arrived (or one failed).</summary>
    private void Rendezvous(int rank)
    {
        lock (_lock)
        {
            ThrowIfFailed(rank);
            long generation = _generation;
            if (++_arrived == Size)
            {
                _arrived = 0;
                _generation++;
                Monitor.PulseAll(_lock);
                return;
            }
            var deadline = DateTime.UtcNow + Timeout;
            while (generation == _generation)
            {
                ThrowIfFailed(rank);
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    var stuck = new CommunicatorException($"rank {rank}: the other members did not reach the collective within {Timeout.TotalSeconds:0} s.");
                    _failure ??= (rank, stuck);
                    Monitor.PulseAll(_lock);
                    throw stuck;
                }
                Monitor.Wait(_lock, left);
            }
        }
    }

    private void AllReduceSum(int rank, Span<float> data)
    {
        for (int start = 0; start == 0 || start < data.Length; start += MaxMessageFloats)
        {
            var piece = data.Slice(start, Math.Min(MaxMessageFloats, data.Length - start));
            if (_floats[rank].Length < piece.Length) _floats[rank] = new float[piece.Length];
            piece.CopyTo(_floats[rank]);
            _lengths[rank] = piece.Length;
            Rendezvous(rank);
            for (int r = 0; r < Size; r++)
                if (_lengths[r] != piece.Length)
                {
                    var error = new CommunicatorException($"all-reduce of {piece.Length} floats on rank {rank} but {_lengths[r]} on rank {r}.");
                    Fail(rank, error);
                    throw error;
                }
            // Rank order, the same on every member: the same bits everywhere.
            var first = _floats[0];
            for (int i = 0; i < piece.Length; i++) piece[i] = first[i];
            for (int r = 1; r < Size; r++)
            {
                var other = _floats[r];
                for (int i = 0; i < piece.Length; i++) piece[i] += other[i];
            }
            Rendezvous(rank);
            if (data.Length == 0) break;
        }
    }

    private void Broadcast(int rank, Span<byte> data, int root)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"Root must be a rank of 0..{Size - 1}.");
        if (rank == root)
        {
            if (_bytes[root].Length < data.Length) _bytes[root] = new byte[data.Length];
            data.CopyTo(_bytes[root]);
            _lengths[root] = data.Length;
        }
        Rendezvous(rank);
        if (_lengths[root] != data.Length)
        {
            var error = new CommunicatorException($"broadcast of {_lengths[root]} bytes from rank {root} but rank {rank} expects {data.Length}.");
            Fail(rank, error);
            throw error;
        }
        if (rank != root) _bytes[root].AsSpan(0, data.Length).CopyTo(data);
        Rendezvous(rank);
    }

    private sealed class Member(InProcessGroup group, int rank) : ICommunicator
    {
        public int Rank => rank;
        public int Size => group.Size;
        public string Kind => "in-process";
        public void AllReduceSum(Span<float> data) { if (group.Size > 1) group.AllReduceSum(rank, data); }
        public void Broadcast(Span<byte> data, int root) { if (group.Size > 1) group.Broadcast(rank, data, root); }
        public void Barrier() { if (group.Size > 1) group.Rendezvous(rank); }
        public void Abort(Exception error) => group.Fail(rank, error);
        public void Dispose() { }
    }
}
