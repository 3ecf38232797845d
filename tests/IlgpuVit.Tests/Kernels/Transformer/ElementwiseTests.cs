using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using MathNet.Numerics;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class ElementwiseTests
{
    private static readonly int[][] Shapes =
        [[1], [7], [31], [32], [33], [3, 197], [5, 385], [64, 64], [2, Ops.ElementwiseChunk + 33]];

    private static double Gelu(double x) => 0.5 * x * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2)));

    public static TheoryData<string, string> UnaryCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var backend in new[] { "cpu", "cuda", "opencl" })
            foreach (var op in new[] { "gelu", "exp", "scale" })
                data.Add(backend, op);
        return data;
    }

    private static (Action<Tensor<float>, Tensor<float>> Run, Func<double, double> Reference) Unary(string op) => op switch
    {
        "gelu" => (Ops.Gelu, Gelu),
        "exp" => (Ops.Exp, Math.Exp),
        _ => ((x, y) => Ops.Scale(x, y, -0.75f), v => -0.75 * v),
    };

    [SkippableTheory]
    [MemberData(nameof(UnaryCases))]
    public void Unary_ops_match_float64_reference_on_odd_and_round_shapes(string backend, string op)
    {
        var device = Backends.Get(backend);
        var (run, reference) = Unary(op);
        foreach (var shape in Shapes)
        {
            int n = shape.Aggregate(1, (p, d) => p * d);
            var x = TestData.Uniform(n + 11, n, 4f);
            using var tx = device.FromArray(x, shape);
            using var ty = device.Zeros(shape);
            run(tx, ty);
            Check.Close(ty.ToArray(), x.Select(v => reference(v)).ToArray(), what: $"{op} {new Shape(shape)}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Binary_ops_match_float64_reference_and_may_write_in_place(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var shape in Shapes)
        {
            int n = shape.Aggregate(1, (p, d) => p * d);
            var a = TestData.Uniform(n, n, 3f);
            var b = TestData.Uniform(n + 1, n, 3f);
            using var ta = device.FromArray(a, shape);
            using var tb = device.FromArray(b, shape);
            using var ty = device.Zeros(shape);
            Ops.Add(ta, tb, ty);
            Check.Close(ty.ToArray(), a.Select((v, i) => (double)v + b[i]).ToArray(), what: $"add {ty.Shape}");
            Ops.Subtract(ta, tb, ty);
            Check.Close(ty.ToArray(), a.Select((v, i) => (double)v - b[i]).ToArray(), what: $"subtract {ty.Shape}");
            Ops.Multiply(ta, tb, ta);   // in place
            Check.Close(ta.ToArray(), a.Select((v, i) => (double)v * b[i]).ToArray(), what: $"multiply in place {ty.Shape}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Broadcasts_a_trailing_operand_over_the_leading_axes(string backend)
    {
        var device = Backends.Get(backend);
        // (B, T, C) + (T, C): a position embedding; rows of 385 straddle the 4096-element CPU chunks.
        foreach (var (batch, t, c) in new[] { (1, 1, 1), (2, 7, 33), (3, 197, 32), (4, 31, 385) })
        {
            var x = TestData.Uniform(batch + t + c, batch * t * c);
            var e = TestData.Uniform(c, t * c);
            using var tx = device.FromArray(x, batch, t, c);
            using var te = device.FromArray(e, t, c);
            using var ty = device.Zeros(batch, t, c);
            Ops.Map(tx, te, ty, new MultiplyOp());
            Check.Close(ty.ToArray(), x.Select((v, i) => (double)v * e[i % (t * c)]).ToArray(), what: $"({batch}, {t}, {c}) * ({t}, {c})");
            // A bias row (C) added to (rows, C), in place.
            var v = TestData.Uniform(c + 5, c);
            using var tv = device.FromArray(v, c);
            Ops.AddRowVector(tx, tv, tx);
            Check.Close(tx.ToArray(), x.Select((xv, i) => (double)xv + v[i % c]).ToArray(), what: $"({batch}, {t}, {c}) + ({c})");
        }
    }

    [Fact]
    public void Gpu_launch_geometry_of_one_element_per_thread_matches_reference_on_the_group_simulator()
    {
        var device = Backends.GpuSimulator;
        var x = TestData.Uniform(1, 7 * 97, 3f);
        var v = TestData.Uniform(2, 97);
        using var tx = device.FromArray(x, 7, 97);
        using var tv = device.FromArray(v, 97);
        using var ty = device.Zeros(7, 97);
        Ops.Gelu(tx, ty);
        Check.Close(ty.ToArray(), x.Select(a => Gelu(a)).ToArray(), what: "gelu");
        Ops.AddRowVector(tx, tv, ty);
        Check.Close(ty.ToArray(), x.Select((a, i) => (double)a + v[i % 97]).ToArray(), what: "add row");
    }

    [Fact]
    public void Cpu_fast_paths_agree_with_their_portable_twins()
    {
        var device = Backends.Cpu;
        int rows = 5, c = 1931, n = rows * c;   // three chunks, the last ragged; rows straddle chunks
        var x = TestData.Uniform(3, n, 4f);
        var v = TestData.Uniform(4, c, 2f);
        using var tx = device.FromArray(x, rows, c);
        using var tv = device.FromArray(v, c);
        using var fast = device.Zeros(rows, c);
        using var twin = device.Zeros(rows, c);

        void Unary<TOp>(TOp op) where TOp : struct, IUnaryOp
        {
            Ops.Map(tx, fast, op);
            device.Synchronize();
            for (int start = 0; start < n; start += Ops.ElementwiseChunk)
                Ops.MapUnaryChunkPortable(tx.View, twin.View, start, Math.Min(Ops.ElementwiseChunk, n - start), op);
            Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 1e-6, 1e-7, typeof(TOp).Name);
        }

        void Binary<TOp>(TOp op) where TOp : struct, IBinaryOp
        {
            Ops.Map(tx, tv, fast, op);
            device.Synchronize();
            for (int start = 0; start < n; start += Ops.ElementwiseChunk)
                Ops.MapBinaryChunkPortable(tx.View, tv.View, twin.View, start, Math.Min(Ops.ElementwiseChunk, n - start), c, op);
            Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 1e-6, 1e-7, typeof(TOp).Name);
        }

        Unary(new GeluOp());
        Unary(new ExpOp());
        Unary(new ScaleOp(1.5f));
        Binary(new AddOp());
        Binary(new SubtractOp());
        Binary(new MultiplyOp());
    }

    [Fact]
    public void Rejects_mismatched_shapes_naming_both()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(4, 7);
        using var y = device.Zeros(7, 4);
        using var row = device.Zeros(5);
        using var leading = device.Zeros(4, 1);

        ((Action)(() => Ops.Gelu(x, y))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Gelu: y has shape (7, 4), expected (4, 7).");
        ((Action)(() => Ops.Add(x, leading, x))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Add: b has shape (4, 1), which is neither a's shape (4, 7) nor a trailing part of it.");
        ((Action)(() => Ops.Multiply(x, x, y))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Multiply: y has shape (7, 4), expected (4, 7).");
        ((Action)(() => Ops.AddRowVector(x, row, x))).Should().Throw<ShapeMismatchException>()
            .WithMessage("AddRowVector: v has shape (5), expected (7) for x of shape (4, 7).");
    }
}
