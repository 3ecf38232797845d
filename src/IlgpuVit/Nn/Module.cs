// Base of the layers: a module owns named parameters (timm state-dict names, given in full at
// construction) and disposes them. Forward methods take the tape that records them.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>A layer with named, trainable parameters.</summary>
public abstract class Module : IDisposable
{
    /// <summary>Every parameter of this module and its children, in a fixed order.</summary>
    public abstract IEnumerable<Variable> Parameters();

    /// <summary>A trainable parameter named <paramref name="name"/> with the given values and shape.</summary>
    protected static Variable Parameter(Device device, string name, float[] values, params int[] shape) =>
        new(Tensor<float>.FromArray(device, values, shape), requiresGrad: true, name);

    /// <summary>Disposes every parameter (and whatever else a module owns).</summary>
    public virtual void Dispose()
    {
        foreach (var p in Parameters()) p.Dispose();
        GC.SuppressFinalize(this);
    }
}
