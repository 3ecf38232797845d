// Elementwise maps: y = f(x) and y = f(a, b), each op declared once as a readonly struct and
// specialised by one generic kernel (docs/architecture.md, "Conventions"; ILGPU's IScanReduceOperation<T>).
//
// Conventions: y has x's shape (or a's) and may alias an input. Backward maps (GeluBackwardOp) take
// (x, dy) as (a, b) and overwrite dx, the activation-gradient convention. In a binary map, b has a's shape or
// a trailing part of it and repeats over the leading axes, so a bias row (C) adds to (rows, C) and a
// position embedding (T, C) to (B, T, C).
// Launch geometry: on the CPU one kernel index covers a chunk of 4096 elements, so ILGPU's per-index
// cost vanishes and the fast helper runs Vector512 over the chunk; on GPUs one index is one element,
// so neighbouring threads touch neighbouring addresses (coalesced).
//
// An op struct carries both a scalar Apply, which every backend compiles, and a Vector512 Apply for
// the CPU fast path. ILGPU only translates the methods a kernel calls: the twin calls the scalar
// Apply through the struct's constraint (resolved by ILGPU's frontend via the interface map), and
// the Vector512 overload is never translated, so both can live on one struct.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

/// <summary>A function of one float, in scalar form (every backend) and 16-lane form (CPU fast path).</summary>
public interface IUnaryOp
{
    /// <summary>f(x). Must compile with ILGPU: MathF/XMath only, no allocations.</summary>
    float Apply(float x);

    /// <summary>f of 16 lanes; equal to the scalar form up to rounding.</summary>
    Vector512<float> Apply(Vector512<float> x);
}

/// <summary>A function of two floats, in scalar form (every backend) and 16-lane form (CPU fast path).</summary>
public interface IBinaryOp
{
    /// <summary>f(a, b). Must compile with ILGPU: MathF/XMath only, no allocations.</summary>
    float Apply(float a, float b);

    /// <summary>f of 16 lane pairs; equal to the scalar form up to rounding.</summary>
    Vector512<float> Apply(Vector512<float> a, Vector512<float> b);
}

/// <summary>Exact GELU, x Phi(x), through the erf of <see cref="FastMath"/>.</summary>
public readonly struct GeluOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => FastMath.Gelu(x);

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> x) => FastMath.Gelu(x);
}

/// <summary>
/// The GELU backward as a binary op: Apply(x, dy) = dy (Phi(x) + x phi(x)), the exact derivative of
/// <see cref="GeluOp"/> times the incoming gradient.
/// </summary>
public readonly struct GeluBackwardOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => b * FastMath.GeluDerivative(a);

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => b * FastMath.GeluDerivative(a);
}

/// <summary>e^x.</summary>
public readonly struct ExpOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Exp(x);

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> x) => Vector512.Exp(x);
}

/// <summary>factor · ln(x): the proportional-attention key bias λ log(size) (ToMe, VPA).</summary>
public readonly struct ScaledLogOp(float factor) : IUnaryOp
{
    /// <summary>The factor λ.</summary>
    public float Factor { get; } = factor;

    /// <inheritdoc/>
    public float Apply(float x) => Factor * MathF.Log(x);

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> x) => Vector512.Create(Factor) * Vector512.Log(x);
}

/// <summary>x times a constant factor.</summary>
/// <param name="factor">The factor.</param>
public readonly struct ScaleOp(float factor) : IUnaryOp
{
    /// <summary>The factor.</summary>
    public float Factor { get; } = factor;

    /// <inheritdoc/>
    public float Apply(float x) => x * Factor;

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> x) => x * Vector512.Create(Factor);
}

/// <summary>a + b.</summary>
public readonly struct AddOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a + b;

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a + b;
}

/// <summary>a - b.</summary>
public readonly struct SubtractOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a - b;

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a - b;
}

/// <summary>a * b.</summary>
public readonly struct MultiplyOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a * b;

    /// <inheritdoc/>
    public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a * b;
}

public static partial class Ops
{
    /// <summary>Elements per kernel index on the CPU (see the file comment).</summary>
    internal const int ElementwiseChunk = 4096;

    /// <summary>y = op(x) elementwise; <paramref name="y"/> has x's shape and may be x.</summary>
    /// <example><code>Ops.Map(x, y, new ScaleOp(0.5f));</code></example>
    /// <exception cref="ShapeMismatchException">y's shape differs from x's.</exception>
    public static void Map<TOp>(Tensor<float> x, Tensor<float> y, TOp op = default) where TOp : struct, IUnaryOp
    {
        OnOneDevice("Map", x, y);
        string name = OpName<TOp>();
        ShapeMismatchException.ThrowIfDifferent(name, "y", x.Shape, y.Shape);
        int n = CheckedLength(name, x);
        int chunk = ElementwiseChunkOf(x.Device);
        var launch = x.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int, TOp>(MapUnaryKernel, group));
        launch(x.Device.Accelerator.DefaultStream, (n + chunk - 1) / chunk, x.View, y.View, n, chunk, op);
    }

    /// <summary>
    /// y = op(a, b) elementwise. <paramref name="b"/> has a's shape or a trailing part of it, repeated
    /// over a's leading axes; <paramref name="y"/> has a's shape and may be a or b.
    /// </summary>
    /// <example><code>Ops.Map(x, positionEmbedding, x, new AddOp()); // (B, T, C) += (T, C)</code></example>
    /// <exception cref="ShapeMismatchException">b is not a trailing part of a's shape, or y's shape differs from a's.</exception>
    public static void Map<TOp>(Tensor<float> a, Tensor<float> b, Tensor<float> y, TOp op = default) where TOp : struct, IBinaryOp
    {
        OnOneDevice("Map", a, b, y);
        string name = OpName<TOp>();
        ShapeMismatchException.Require(IsTrailing(b.Shape, a.Shape), name,
            $"b has shape {b.Shape}, which is neither a's shape {a.Shape} nor a trailing part of it.");
        ShapeMismatchException.ThrowIfDifferent(name, "y", a.Shape, y.Shape);
        MapBinary(a, b, y, op);
    }

    /// <summary>Exact GELU elementwise: y = x Phi(x); y may be x.</summary>
    /// <exception cref="ShapeMismatchException">y's shape differs from x's.</exception>
    public static void Gelu(Tensor<float> x, Tensor<float> y) => Map(x, y, new GeluOp());

    /// <summary>
    /// Backward of <see cref="Gelu"/>: <paramref name="dx"/> = <paramref name="dy"/> (Phi(x) + x phi(x))
    /// for the forward input <paramref name="x"/>. All three have one shape; dx may be dy (it is
    /// overwritten, the activation-gradient convention).
    /// </summary>
    /// <exception cref="ShapeMismatchException">dy or dx differs from x's shape.</exception>
    public static void GeluBackward(Tensor<float> x, Tensor<float> dy, Tensor<float> dx) => MapBackward(x, dy, dx, new GeluBackwardOp());

    /// <summary>y = e^x elementwise; y may be x.</summary>
    /// <exception cref="ShapeMismatchException">y's shape differs from x's.</exception>
    public static void Exp(Tensor<float> x, Tensor<float> y) => Map(x, y, new ExpOp());

    /// <summary>y = factor x elementwise; y may be x.</summary>
    /// <exception cref="ShapeMismatchException">y's shape differs from x's.</exception>
    public static void Scale(Tensor<float> x, Tensor<float> y, float factor) => Map(x, y, new ScaleOp(factor));

    /// <summary>y = a + b (b broadcast as in <see cref="Map{TOp}(Tensor{float}, Tensor{float}, Tensor{float}, TOp)"/>).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void Add(Tensor<float> a, Tensor<float> b, Tensor<float> y) => Map(a, b, y, new AddOp());

    /// <summary>y = a - b (b broadcast as in <see cref="Map{TOp}(Tensor{float}, Tensor{float}, Tensor{float}, TOp)"/>).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void Subtract(Tensor<float> a, Tensor<float> b, Tensor<float> y) => Map(a, b, y, new SubtractOp());

    /// <summary>y = a * b (b broadcast as in <see cref="Map{TOp}(Tensor{float}, Tensor{float}, Tensor{float}, TOp)"/>).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void Multiply(Tensor<float> a, Tensor<float> b, Tensor<float> y) => Map(a, b, y, new MultiplyOp());

    /// <summary>Adds a bias row <paramref name="v"/> (C) to every row of <paramref name="x"/> (rows, C) into <paramref name="y"/> (rows, C; may be x).</summary>
    /// <exception cref="ShapeMismatchException">v is not (C) for x's last axis C, or y's shape differs from x's.</exception>
    public static void AddRowVector(Tensor<float> x, Tensor<float> v, Tensor<float> y)
    {
        OnOneDevice("AddRowVector", x, v, y);
        ShapeMismatchException.Require(v.Shape.Rank == 1 && v.Shape[0] == x.Shape[-1], "AddRowVector",
            $"v has shape {v.Shape}, expected ({x.Shape[-1]}) for x of shape {x.Shape}.");
        ShapeMismatchException.ThrowIfDifferent("AddRowVector", "y", x.Shape, y.Shape);
        MapBinary(x, v, y, new AddOp());
    }

    /// <summary>
    /// An activation's backward, <paramref name="dx"/> = op(<paramref name="x"/>, <paramref name="dy"/>), where x is the tensor
    /// the op's derivative reads (the forward's input or output) and all three have one shape; dx may be dy.
    /// </summary>
    /// <exception cref="ShapeMismatchException">dy or dx differs from x's shape (named after the op).</exception>
    public static void MapBackward<TOp>(Tensor<float> x, Tensor<float> dy, Tensor<float> dx, TOp op) where TOp : struct, IBinaryOp
    {
        string name = OpName<TOp>();
        OnOneDevice(name, x, dy, dx);
        ShapeMismatchException.ThrowIfDifferent(name, "dy", x.Shape, dy.Shape);
        ShapeMismatchException.ThrowIfDifferent(name, "dx", x.Shape, dx.Shape);
        MapBinary(x, dy, dx, op);
    }

    private static void MapBinary<TOp>(Tensor<float> a, Tensor<float> b, Tensor<float> y, TOp op) where TOp : struct, IBinaryOp
    {
        int n = CheckedLength(OpName<TOp>(), a);
        int chunk = ElementwiseChunkOf(a.Device);
        var launch = a.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, TOp>(MapBinaryKernel, group));
        launch(a.Device.Accelerator.DefaultStream, (n + chunk - 1) / chunk, a.View, b.View, y.View, n, (int)b.Length, chunk, op);
    }

    private static int ElementwiseChunkOf(Device device) =>
        device.UsesCpuFastPath ? ElementwiseChunk : 1;

    // "GeluOp" names itself "Gelu" in error messages, like the wrapper the user called.
    private static string OpName<TOp>() =>
        typeof(TOp).Name.EndsWith("Op", StringComparison.Ordinal) ? typeof(TOp).Name[..^2] : typeof(TOp).Name;

    // Kernel indices and offsets are int: a tensor past 2^31 elements would wrap them.
    private static int CheckedLength(string op, Tensor<float> x)
    {
        ShapeMismatchException.Require(x.Length <= int.MaxValue, op, $"x of shape {x.Shape} has more than 2^31 - 1 elements.");
        return (int)x.Length;
    }

    private static bool IsTrailing(Shape part, Shape whole)
    {
        if (part.Rank > whole.Rank) return false;
        for (int i = 1; i <= part.Rank; i++)
            if (part[-i] != whole[-i]) return false;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MapUnaryKernel<TOp>(Index1D index, ArrayView<float> x, ArrayView<float> y, int n, int chunk, TOp op)
        where TOp : struct, IUnaryOp
    {
        int start = index * chunk;
        MapUnaryChunk(x, y, start, Math.Min(chunk, n - start), op);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MapBinaryKernel<TOp>(Index1D index, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y,
        int n, int period, int chunk, TOp op) where TOp : struct, IBinaryOp
    {
        int start = index * chunk;
        MapBinaryChunk(a, b, y, start, Math.Min(chunk, n - start), period, op);
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(MapUnaryChunkPortable))]
    internal static unsafe void MapUnaryChunk<TOp>(ArrayView<float> x, ArrayView<float> y, int start, int count, TOp op)
        where TOp : struct, IUnaryOp
    {
        float* xs = FastMath.Address(x, start);
        float* ys = FastMath.Address(y, start);
        int j = 0;
        for (; j + 16 <= count; j += 16) op.Apply(Vector512.Load(xs + j)).Store(ys + j);
        for (; j < count; j++) ys[j] = op.Apply(xs[j]);
    }

    internal static void MapUnaryChunkPortable<TOp>(ArrayView<float> x, ArrayView<float> y, int start, int count, TOp op)
        where TOp : struct, IUnaryOp
    {
        for (int j = start; j < start + count; j++) y[j] = op.Apply(x[j]);
    }

    // b element of a's element j is b[j % period]; the chunk is walked in runs that stay inside one
    // period, so each run is two contiguous streams.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(MapBinaryChunkPortable))]
    internal static unsafe void MapBinaryChunk<TOp>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y,
        int start, int count, int period, TOp op) where TOp : struct, IBinaryOp
    {
        float* ap = FastMath.Address(a, 0), bp = FastMath.Address(b, 0), yp = FastMath.Address(y, 0);
        for (int j = start, end = start + count; j < end;)
        {
            int col = j % period;
            int run = Math.Min(period - col, end - j);
            float* aj = ap + j, bj = bp + col, yj = yp + j;
            int k = 0;
            for (; k + 16 <= run; k += 16) op.Apply(Vector512.Load(aj + k), Vector512.Load(bj + k)).Store(yj + k);
            for (; k < run; k++) yj[k] = op.Apply(aj[k], bj[k]);
            j += run;
        }
    }

    internal static void MapBinaryChunkPortable<TOp>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y,
        int start, int count, int period, TOp op) where TOp : struct, IBinaryOp
    {
        for (int j = start; j < start + count; j++) y[j] = op.Apply(a[j], b[j % period]);
    }
}
