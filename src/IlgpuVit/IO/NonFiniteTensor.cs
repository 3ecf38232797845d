// A tensor holding NaN or ±Inf, found by scanning its values on the host: how many, and the first one's
// flat (row-major) index and value. TrainingCheckpoint.Load and WeightImporter refuse such weights unless asked
// to load them, and the trainer names one when a run diverges. The scan is one vectorised pass (x·0 is
// 0 for every finite x and NaN otherwise); only a tensor that fails it is walked element by element.
using System.Globalization;
using System.Numerics;

namespace IlgpuVit.IO;

/// <summary>A tensor with non-finite values (NaN, +Inf or -Inf).</summary>
/// <param name="Name">The tensor's name (its key in the file, or the parameter's name).</param>
/// <param name="Count">How many of its values are not finite.</param>
/// <param name="FirstIndex">The row-major index of the first of them.</param>
/// <param name="FirstValue">That value: NaN, +Inf or -Inf.</param>
public sealed record NonFiniteTensor(string Name, long Count, long FirstIndex, float FirstValue)
{
    /// <summary>Scans <paramref name="values"/>; null when every one is finite.</summary>
    public static NonFiniteTensor? Find(string name, ReadOnlySpan<float> values)
    {
        if (AllFinite(values)) return null;
        long count = 0, first = -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i])) continue;
            if (count++ == 0) first = i;
        }
        return new NonFiniteTensor(name, count, first, values[(int)first]);
    }

    /// <summary>
    /// Scans the tensors <paramref name="keys"/> of <paramref name="file"/> one at a time through one buffer (the file
    /// is never held in memory); returns those with non-finite values, in the order given.
    /// </summary>
    public static IReadOnlyList<NonFiniteTensor> Scan(SafeTensorsFile file, IEnumerable<string> keys)
    {
        var found = new List<NonFiniteTensor>();
        var buffer = Array.Empty<float>();
        foreach (var key in keys)
        {
            int length = checked((int)file.Info(key).ElementCount);
            if (buffer.Length < length) buffer = new float[length];
            var values = buffer.AsSpan(0, length);
            file.ReadSingles(key, values);
            if (Find(key, values) is { } tensor) found.Add(tensor);
        }
        return found;
    }

    /// <summary>"tensor 'blocks.3.attn.qkv.weight' holds 12 non-finite values (first: NaN at index 517)".</summary>
    public override string ToString() =>
        $"tensor '{Name}' holds {Count} non-finite value{(Count == 1 ? "" : "s")} (first: {Describe(FirstValue)} at index {FirstIndex})";

    /// <summary>NaN, +Inf or -Inf (a finite value in the invariant culture).</summary>
    public static string Describe(float value) =>
        float.IsNaN(value) ? "NaN" : float.IsPositiveInfinity(value) ? "+Inf" : float.IsNegativeInfinity(value) ? "-Inf"
            : value.ToString(CultureInfo.InvariantCulture);

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        var products = Vector<float>.Zero;
        int i = 0;
        for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
            products += new Vector<float>(values.Slice(i, Vector<float>.Count)) * Vector<float>.Zero;
        float sum = Vector.Sum(products);
        for (; i < values.Length; i++) sum += values[i] * 0f;
        return sum == 0f;
    }
}
