// Averages the gradients of the data-parallel members before clipping and the optimizer step
// (docs/distributed.md). The gradients are flattened into host buckets of several parameters each (in
// parameter order, a parameter never split), one all-reduce per bucket, then scaled by 1 / world size and
// copied back. A first small all-reduce carries the loss and which parameters have a gradient on some
// member, so a parameter that backward reached on one member only still gets its (partly zero) average
// everywhere, and one reached nowhere stays without a gradient, as in a single process.

using IlgpuVit.Autodiff;

namespace IlgpuVit.Training;

/// <summary>Averages gradients and the loss over a communicator's members, in buckets.</summary>
public sealed class GradientAverager
{
    private readonly ICommunicator _comm;
    private readonly IReadOnlyList<Variable> _parameters;
    private readonly (int First, int Count, int Floats)[] _buckets;
    private readonly float[] _host;
    private readonly float[] _header;

    /// <summary>An averager of <paramref name="parameters"/>' gradients.</summary>
    /// <param name="comm">The group.</param>
    /// <param name="parameters">The parameters, in the same order on every member.</param>
    /// <param name="bucketFloats">Target bucket size in floats (a parameter larger than it gets a bucket of its own).</param>
    /// <exception cref="ArgumentOutOfRangeException">A bucket size below 1.</exception>
    public GradientAverager(ICommunicator comm, IReadOnlyList<Variable> parameters, int bucketFloats = 1 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketFloats, 1);
        _comm = comm;
        _parameters = parameters;
        var buckets = new List<(int, int, int)>();
        int first = 0, floats = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            int n = checked((int)parameters[i].Value.Length);
            if (floats > 0 && floats + n > bucketFloats) { buckets.Add((first, i - first, floats)); first = i; floats = 0; }
            floats += n;
        }
        if (parameters.Count > first) buckets.Add((first, parameters.Count - first, floats));
        _buckets = buckets.ToArray();
        _host = new float[_buckets.Length == 0 ? 0 : _buckets.Max(b => b.Floats)];
        _header = new float[1 + parameters.Count];
    }

    /// <summary>The buckets: first parameter, parameter count, floats.</summary>
    public IReadOnlyList<(int First, int Count, int Floats)> Buckets => _buckets;

    /// <summary>Replaces every gradient by its mean over the members and returns the mean of <paramref name="loss"/>.</summary>
    /// <exception cref="CommunicatorException">A member failed.</exception>
    public float Average(float loss)
    {
        if (_comm.Size == 1) return loss;
        _header[0] = loss;
        for (int i = 0; i < _parameters.Count; i++) _header[1 + i] = _parameters[i].Grad is null ? 0 : 1;
        _comm.AllReduceMean(_header);
        foreach (var (first, count, floats) in _buckets)
        {
            var bucket = _host.AsSpan(0, floats);
            int offset = 0;
            for (int i = first; i < first + count; i++)
            {
                int n = checked((int)_parameters[i].Value.Length);
                if (_parameters[i].Grad is { } g) g.CopyTo(bucket.Slice(offset, n));
                else bucket.Slice(offset, n).Clear();
                offset += n;
            }
            _comm.AllReduceMean(bucket);
            offset = 0;
            for (int i = first; i < first + count; i++)
            {
                int n = checked((int)_parameters[i].Value.Length);
                // Reached on some member: every member keeps the average (a zeroed buffer where backward did not reach).
                if (_header[1 + i] > 0) _parameters[i].ZeroedGradBuffer().CopyFrom(bucket.Slice(offset, n));
                offset += n;
            }
        }
        return _header[0];
    }
}
