// Device-to-device copy of a whole tensor (a gradient's first contribution, a residual branch).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>Copies <paramref name="x"/> into <paramref name="y"/> (same element count) on their device.</summary>
    /// <exception cref="ShapeMismatchException">The element counts differ.</exception>
    public static void Copy<T>(Tensor<T> x, Tensor<T> y) where T : unmanaged
    {
        OnOneDevice("Copy", x, y);
        ShapeMismatchException.Require(x.Length == y.Length, "Copy", $"x has shape {x.Shape} and y {y.Shape}; they need the same number of elements.");
        x.View.CopyTo(x.Device.Accelerator.DefaultStream, y.View);
    }
}
