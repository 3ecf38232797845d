// The CPU GEMM's packed panels of B, kept with B's tensor while its contents stay as they were
// (docs/backends.md, "Packed weights"). Packing a ViT-S/16's weights cost 12-23 ms of a batch-1
// forward; a weight at inference never changes, so it is packed once.
//
// Validity rests on ITensor.Version: every launcher moves it on for the tensors it touches (GEMM
// leaves its B alone, since it only reads it), and so do host copies. A B is kept only the second
// time it is seen with the same version and layout, so activations (rewritten before every use) and
// weights in training (changed by every optimizer step) are never kept and cost no memory. Only
// owning tensors keep panels: they are freed with the tensor.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

internal sealed class GemmPackCache : IDisposable
{
    private readonly List<Entry> _entries = [];

    /// <summary>One layout of B's panels (a weight is packed transposed for the forward, plain for the backward).</summary>
    private sealed class Entry(PackKey key, long version)
    {
        public PackKey Key { get; } = key;
        public long Version { get; set; } = version;
        public Tensor<float>? Panels { get; set; }
    }

    /// <summary>What decides the packed contents besides B's values.</summary>
    private readonly record struct PackKey(int TransB, int Offset, int Ldb, int N, int K);

    /// <summary>
    /// B's kept panels for <paramref name="g"/>, or null when they must be packed into scratch. When <paramref name="fill"/>
    /// is set, the returned tensor is new and the caller packs into it (B was seen unchanged once before).
    /// </summary>
    public static Tensor<float>? Find(Tensor<float> b, in GemmArgs g, out bool fill)
    {
        fill = false;
        if (g.PackedBatches != 1 || !b.OwnsMemory) return null;
        var cache = b.Derived as GemmPackCache;
        if (cache is null) b.Derived = cache = new GemmPackCache();
        lock (cache) return cache.Find(new PackKey(g.TransB, g.BOffset, g.Ldb, g.N, g.K), b, g.Panels, out fill);
    }

    private Tensor<float>? Find(PackKey key, Tensor<float> b, int panels, out bool fill)
    {
        fill = false;
        long version = b.Version;
        var entry = _entries.Find(e => e.Key == key);
        if (entry is null)
        {
            _entries.Add(new Entry(key, version));
            return null;
        }
        if (entry.Version != version)
        {
            entry.Panels?.Dispose();
            entry.Panels = null;
            entry.Version = version;
            return null;
        }
        if (entry.Panels is null)
        {
            entry.Panels = Tensor<float>.Empty(b.Device, 1, panels, key.K * Ops.GemmPanel);
            fill = true;
        }
        return entry.Panels;
    }

    public void Dispose()
    {
        lock (this)
        {
            foreach (var entry in _entries) entry.Panels?.Dispose();
            _entries.Clear();
        }
    }
}
