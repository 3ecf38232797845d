using FluentAssertions;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Runtime;

public class TensorTests
{
    [Fact]
    public void Round_trips_host_data()
    {
        var device = Backends.Cpu;
        var data = TestData.Uniform(1, 2 * 3 * 5);
        using var t = device.FromArray(data, 2, 3, 5);
        t.Shape.ToString().Should().Be("(2, 3, 5)");
        t.ToArray().Should().Equal(data);
    }

    [Fact]
    public void Zeros_are_zero_even_when_the_buffer_is_reused()
    {
        var device = Backends.Cpu;
        using (var dirty = device.FromArray(Enumerable.Repeat(7f, 13).ToArray(), 13)) { }
        using var t = device.Zeros(13);
        t.ToArray().Should().OnlyContain(v => v == 0f);
    }

    [Fact]
    public void Host_copies_of_the_wrong_length_name_the_shape()
    {
        var device = Backends.Cpu;
        using var t = device.Zeros(2, 3);
        var into = () => t.CopyFrom(new float[5]);
        into.Should().Throw<ShapeMismatchException>().WithMessage("*5 host elements*(2, 3)*");
        var outOf = () => t.CopyTo(new float[7]);
        outOf.Should().Throw<ShapeMismatchException>().WithMessage("*7 elements*(2, 3)*");
        var create = () => device.FromArray(new float[4], 3, 3);
        create.Should().Throw<ShapeMismatchException>();
    }

    [Fact]
    public void Shapes_reject_empty_dimensions()
    {
        var act = () => new Shape(3, 0, 2);
        act.Should().Throw<ArgumentException>().WithMessage("*(3, 0, 2)*at least 1*");
    }

    [Fact]
    public void Reshape_aliases_memory_and_checks_the_element_count()
    {
        var device = Backends.Cpu;
        using var t = device.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        var flat = t.Reshape(6);
        flat.ToArray().Should().Equal(1, 2, 3, 4, 5, 6);
        var bad = () => t.Reshape(4, 2);
        bad.Should().Throw<ShapeMismatchException>().WithMessage("*(2, 3)*(4, 2)*");
    }

    [Fact]
    public void A_disposed_tensor_cannot_be_used()
    {
        var device = Backends.Cpu;
        var t = device.Zeros(4);
        t.Dispose();
        t.Dispose();   // twice is harmless
        var act = () => t.View;
        act.Should().Throw<ObjectDisposedException>();
    }
}

public class TensorPoolTests
{
    [Fact]
    public void A_loop_that_repeats_its_shapes_stops_allocating()
    {
        using var device = Device.Open(Backend.Cpu);   // own device: the pool counters are per device
        for (int step = 0; step < 5; step++)
        {
            using var a = device.Zeros(128, 64);
            using var b = device.Zeros(64);
            using var i = Tensor<int>.Zeros(device, 10);
        }
        device.Pool.Allocations.Should().Be(3, "the first step allocates three buffers and later steps reuse them");
        device.Pool.LiveBytes.Should().Be(0);
        // Each buffer holds a cache line's worth of elements more, room to start the view on a line (CPU).
        device.Pool.PooledBytes.Should().Be(4 * new[] { 128 * 64, 64, 10 }.Sum(n => TensorPool.SizeClass(n + 15)));
        device.Pool.Trim();
        device.Pool.PooledBytes.Should().Be(0);
    }

    [Fact]
    public unsafe void Every_cpu_tensor_starts_on_a_cache_line()
    {
        // ILGPU's CPU buffers are 16-byte aligned: a 64-byte vector load from an unaligned tensor straddles two lines.
        using var device = Device.Open(Backend.Cpu);
        foreach (int length in new[] { 1, 7, 100, 4096, 5000, 300_000 })
        {
            using var f = Tensor<float>.Empty(device, length);
            using var i = Tensor<int>.Zeros(device, length);
            ((long)IlgpuVit.Kernels.FastMath.Address(f.View, 0) % TensorPool.CpuAlignment).Should().Be(0, $"float[{length}]");
            ((long)IlgpuVit.Kernels.FastMath.Address(i.View, 0) % TensorPool.CpuAlignment).Should().Be(0, $"int[{length}]");
            i.ToArray().Should().OnlyContain(x => x == 0).And.HaveCount(length);
        }
    }

    [Fact]
    public void Nearby_lengths_share_a_buffer_of_their_size_class_and_see_only_their_own_length()
    {
        using var device = Device.Open(Backend.Cpu);
        // A pruned block's tokens: 64 images x 46 and x 42 tokens x 64 channels fall in one class (the 1.5 x 2^17 step).
        using (var first = device.Zeros(64, 46, 64)) first.View.Length.Should().Be(64 * 46 * 64);
        using (var second = Tensor<float>.Empty(device, 64, 42, 64))
        {
            second.View.Length.Should().Be(64 * 42 * 64, "a tensor views only its own elements of a larger buffer");
            second.ToArray().Should().HaveCount(64 * 42 * 64);
        }
        device.Pool.Allocations.Should().Be(1, "the second tensor reuses the first one's buffer");
        device.Pool.PooledBytes.Should().Be(4 * TensorPool.SizeClass(64 * 46 * 64));
    }

    [Fact]
    public void Size_classes_hold_the_length_and_waste_at_most_a_quarter()
    {
        long previous = 0;
        foreach (long length in Enumerable.Range(1, 5000).Select(i => (long)i).Concat([197L * 384, 1L << 30, (1L << 30) + 1, 3L << 40]))
        {
            long size = TensorPool.SizeClass(length);
            size.Should().BeGreaterThanOrEqualTo(length);
            size.Should().BeLessThanOrEqualTo(length <= 16 ? length : length + length / 4, $"length {length}");
            size.Should().BeGreaterThanOrEqualTo(previous, "classes grow with the length");
            previous = size;
        }
        TensorPool.SizeClass(1L << 20).Should().Be(1L << 20, "powers of two are classes");
    }

    [Fact]
    public void Out_of_memory_says_how_much_was_asked()
    {
        using var device = Device.Open(Backend.Cpu);
        var act = () => Tensor<float>.Empty(device, 1 << 20, 1 << 20, 1 << 4);   // 64 TiB
        act.Should().Throw<DeviceOutOfMemoryException>().WithMessage("*out of memory*64 TiB*")
            .Which.RequestedBytes.Should().Be(4L << 44);
        device.Pool.LiveBytes.Should().Be(0);
    }
}
