// The CPU fast path: how one ILGPU kernel runs at the machine's speed on the CPU accelerator and
// still compiles for CUDA and OpenCL.
//
// Why: ILGPU's CPU accelerator calls the kernel's .NET method once per index through a generic
// launcher, so a fine-grained kernel (one thread per element) runs 50-100x below the machine's
// speed, and ILGPU's frontend rejects System.Runtime.Intrinsics in kernels for every backend.
//
// How: a hot kernel does coarse work per index (a row, a tile) by calling a helper that carries
//   [IntrinsicImplementation, PortableTwin(nameof(HelperPortable))]
// The helper's body uses Vector512. ILGPU treats the helper as an intrinsic: it does not translate
// its body, and the CPU accelerator (which runs kernels as .NET code) simply calls it. For the PTX
// and OpenCL backends, Register() below redirects every such helper to its portable twin, a
// scalar method with the same signature that ILGPU compiles like any kernel code. The kernel
// itself is written once. Tests run each twin on the host and compare it with the fast path.
using System.Reflection;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;

namespace IlgpuVit.Runtime;

/// <summary>
/// Names the scalar twin of a Vector512 helper: a method of the same type, with the same
/// parameters, that GPU backends compile in the helper's place. See the file comment.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class PortableTwinAttribute(string twin) : Attribute
{
    /// <summary>The name of the twin method, in the same declaring type.</summary>
    public string Twin { get; } = twin;
}

/// <summary>Registers the GPU redirects of every CPU fast-path helper (see the file comment).</summary>
public static class CpuFastPath
{
    private const BindingFlags AnyStatic = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;

    /// <summary>Every (helper, twin) pair declared in <paramref name="assembly"/>.</summary>
    /// <exception cref="InvalidOperationException">A helper names a missing twin, or one with other parameters.</exception>
    public static IReadOnlyList<(MethodInfo Fast, MethodInfo Portable)> Pairs(Assembly assembly)
    {
        var pairs = new List<(MethodInfo, MethodInfo)>();
        foreach (var type in assembly.GetTypes())
            foreach (var fast in type.GetMethods(AnyStatic | BindingFlags.DeclaredOnly))
            {
                var attribute = fast.GetCustomAttribute<PortableTwinAttribute>();
                if (attribute is null) continue;
                if (fast.GetCustomAttribute<IntrinsicImplementationAttribute>() is null)
                    throw new InvalidOperationException($"{type.Name}.{fast.Name} has [PortableTwin] but lacks [IntrinsicImplementation].");
                pairs.Add((fast, FindTwin(type, fast, attribute.Twin)));
            }
        return pairs;
    }

    /// <summary>Redirects every helper of <paramref name="assembly"/> to its twin on the PTX and OpenCL backends.</summary>
    public static void Register(IntrinsicImplementationManager manager, Assembly assembly)
    {
        foreach (var (fast, portable) in Pairs(assembly))
        {
            manager.RegisterMethod(fast, new PTXIntrinsic(portable, IntrinsicImplementationMode.Redirect));
            manager.RegisterMethod(fast, new CLIntrinsic(portable, IntrinsicImplementationMode.Redirect));
        }
    }

    private static MethodInfo FindTwin(Type type, MethodInfo fast, string name)
    {
        var parameters = fast.GetParameters().Select(p => p.ParameterType).ToArray();
        var twin = type.GetMethods(AnyStatic | BindingFlags.DeclaredOnly).FirstOrDefault(m =>
            m.Name == name &&
            m.GetGenericArguments().Length == fast.GetGenericArguments().Length &&
            SameParameters(m, fast));
        return twin ?? throw new InvalidOperationException(
            $"{type.Name}.{fast.Name} names the portable twin '{name}', but {type.Name} has no static method of that name taking ({string.Join(", ", parameters.Select(p => p.Name))}).");
    }

    // Generic parameters are compared by position, so Map<TOp>(ArrayView<float>, TOp) matches MapPortable<TOp>(...).
    private static bool SameParameters(MethodInfo a, MethodInfo b)
    {
        var pa = a.GetParameters();
        var pb = b.GetParameters();
        return pa.Length == pb.Length && pa.Zip(pb).All(p => Same(p.First.ParameterType, p.Second.ParameterType));

        static bool Same(Type x, Type y) =>
            x.IsGenericMethodParameter && y.IsGenericMethodParameter ? x.GenericParameterPosition == y.GenericParameterPosition
            : x.IsGenericType && y.IsGenericType ? x.GetGenericTypeDefinition() == y.GetGenericTypeDefinition() &&
                x.GetGenericArguments().Zip(y.GetGenericArguments()).All(g => Same(g.First, g.Second))
            : x == y;
    }
}
