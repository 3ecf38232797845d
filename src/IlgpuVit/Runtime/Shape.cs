// Tensor shapes: immutable, row-major, printed as "(2, 197, 384)" in every error message.
namespace IlgpuVit.Runtime;

/// <summary>An immutable row-major tensor shape. Rank 0 is a scalar of one element.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[]? _dims;

    /// <summary>Creates a shape; every dimension must be at least 1.</summary>
    /// <exception cref="ArgumentException">A dimension is zero or negative.</exception>
    public Shape(params int[] dims)
    {
        foreach (var d in dims)
            if (d < 1)
                throw new ArgumentException($"Shape {Format(dims)} has a dimension {d}; every dimension must be at least 1.", nameof(dims));
        _dims = (int[])dims.Clone();
    }

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Dims => _dims ?? [];

    /// <summary>Number of dimensions.</summary>
    public int Rank => Dims.Length;

    /// <summary>Dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int this[int axis] => Dims[axis < 0 ? Rank + axis : axis];

    /// <summary>Number of elements (the product of the dimensions).</summary>
    public long Length
    {
        get
        {
            long n = 1;
            foreach (var d in Dims) n *= d;
            return n;
        }
    }

    /// <summary>Product of the dimensions before <paramref name="axis"/> (rows when the last axis is the row).</summary>
    public long Outer(int axis)
    {
        long n = 1;
        for (int i = 0; i < (axis < 0 ? Rank + axis : axis); i++) n *= Dims[i];
        return n;
    }

    /// <inheritdoc/>
    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Equality of dimensions.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    /// <summary>Inequality of dimensions.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <inheritdoc/>
    public override string ToString() => Format(Dims);

    private static string Format(ReadOnlySpan<int> dims) => "(" + string.Join(", ", dims.ToArray()) + ")";

    /// <summary>Converts dimensions to a shape.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);
}
