// The communicator seam of data-parallel training (docs/distributed.md): the handful of collectives a
// data-parallel step needs (all-reduce sum of float buffers, broadcast from a root, barrier), the rank of
// this member and the world size. Implementations: SingleProcess (world size 1, every call a no-op), the
// in-process group of InProcessGroup (threads, one accelerator each) and MPI (the IlgpuVit.Mpi assembly,
// loaded only when asked for, so the core keeps no native dependency). Every implementation sums in rank
// order and hands every member the same bits, so all ranks take the same optimizer step.

using System.Runtime.InteropServices;

namespace IlgpuVit.Training;

/// <summary>The collectives of data-parallel training among <see cref="Size"/> members.</summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This member's rank, 0 to Size - 1; rank 0 writes metrics, checkpoints and evaluations.</summary>
    int Rank { get; }

    /// <summary>Members in the group (the world size).</summary>
    int Size { get; }

    /// <summary>What the group runs on, for logs ("single process", "mpi", "in-process").</summary>
    string Kind { get; }

    /// <summary>Replaces <paramref name="data"/> on every member by the element-wise sum over all members (the same bits on each).</summary>
    /// <exception cref="CommunicatorException">Another member failed, or the lengths differ across members.</exception>
    void AllReduceSum(Span<float> data);

    /// <summary>Copies <paramref name="data"/> of member <paramref name="root"/> into every member's <paramref name="data"/>.</summary>
    /// <exception cref="CommunicatorException">Another member failed.</exception>
    void Broadcast(Span<byte> data, int root);

    /// <summary>Returns once every member has called it.</summary>
    /// <exception cref="CommunicatorException">Another member failed.</exception>
    void Barrier();

    /// <summary>Tells the other members that this one failed with <paramref name="error"/> and must stop; they throw at their next
    /// (or current) collective. For MPI this ends the whole job.</summary>
    void Abort(Exception error);
}

/// <summary>A collective failed: a member died, threw, or called with a different length.</summary>
public sealed class CommunicatorException(string message, Exception? inner = null) : Exception(message, inner)
{
}

/// <summary>The group of one: every collective returns at once.</summary>
public sealed class SingleProcess : ICommunicator
{
    /// <summary>The one shared instance.</summary>
    public static SingleProcess Instance { get; } = new();

    /// <inheritdoc/>
    public int Rank => 0;

    /// <inheritdoc/>
    public int Size => 1;

    /// <inheritdoc/>
    public string Kind => "single process";

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> data) { }

    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "A single process has only rank 0.");
    }

    /// <inheritdoc/>
    public void Barrier() { }

    /// <inheritdoc/>
    public void Abort(Exception error) { }

    /// <summary>Nothing to release.</summary>
    public void Dispose() { }
}

/// <summary>Helpers over any communicator.</summary>
public static class Collectives
{
    /// <summary>Broadcasts floats from <paramref name="root"/>.</summary>
    public static void Broadcast(this ICommunicator comm, Span<float> data, int root) => comm.Broadcast(MemoryMarshal.AsBytes(data), root);

    /// <summary>Replaces <paramref name="data"/> by its mean over the members: the sum, then times 1 / Size.</summary>
    public static void AllReduceMean(this ICommunicator comm, Span<float> data)
    {
        if (comm.Size == 1) return;
        comm.AllReduceSum(data);
        float inverse = 1f / comm.Size;
        for (int i = 0; i < data.Length; i++) data[i] *= inverse;
    }

    /// <summary>The ranks whose <paramref name="fingerprint"/> differs from rank 0's (empty when all agree), known to every member.</summary>
    public static int[] Disagreeing(this ICommunicator comm, ReadOnlySpan<byte> fingerprint)
    {
        if (comm.Size == 1) return [];
        var root = fingerprint.ToArray();
        comm.Broadcast(root, 0);
        var flags = new float[comm.Size];
        flags[comm.Rank] = fingerprint.SequenceEqual(root) ? 0 : 1;
        comm.AllReduceSum(flags);
        return Enumerable.Range(0, comm.Size).Where(r => flags[r] != 0).ToArray();
    }

    /// <summary>Whether <paramref name="flag"/> is true on any member.</summary>
    public static bool Any(this ICommunicator comm, bool flag)
    {
        if (comm.Size == 1) return flag;
        Span<float> value = [flag ? 1f : 0f];
        comm.AllReduceSum(value);
        return value[0] > 0;
    }
}
