using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels;

public class LaunchObserverTests
{
    [Fact]
    public void An_observer_sees_each_launch_with_its_device_and_tensors_until_disposed()
    {
        var device = Backends.Cpu;
        using var x = Tensor<float>.FromArray(device, [1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        using var y = Tensor<float>.Zeros(device, 2, 3);
        var seen = new List<(string Op, Device Device, Shape[] Shapes)>();
        using (Ops.ObserveLaunches((op, dev, tensors) =>
        {
            var shapes = new List<Shape>();
            foreach (var t in tensors) if (t is not null) shapes.Add(t.Shape);
            seen.Add((op, dev, shapes.ToArray()));
        }))
        {
            Ops.Softmax(x, y);
            Ops.Exp(x, y);
        }
        Ops.Softmax(x, y);      // after disposal: not seen

        seen.Select(s => s.Op).Should().Equal("Softmax", "Map");
        seen.Should().AllSatisfy(s => s.Device.Should().BeSameAs(device));
        seen[0].Shapes.Should().Equal(new Shape(2, 3), new Shape(2, 3));
    }

    [Fact]
    public void A_nested_observer_replaces_the_outer_one_and_restores_it()
    {
        var device = Backends.Cpu;
        using var x = Tensor<float>.Zeros(device, 1, 4);
        using var y = Tensor<float>.Zeros(device, 1, 4);
        var outer = new HashSet<string>();
        var inner = new HashSet<string>();
        using (Ops.TraceLaunches(outer))
        {
            using (Ops.TraceLaunches(inner)) Ops.Exp(x, y);
            Ops.Softmax(x, y);
        }
        inner.Should().Equal("Map");
        outer.Should().Equal("Softmax");
    }
}
