// Every kernel compiles for CUDA (PTX, sm_75 and sm_90) and OpenCL C with no device present.
// Kernels are found by name (static methods ending in "Kernel"), so a new kernel is covered without
// touching this file; a generic kernel is compiled for every struct that satisfies its constraint.
// Where a clang is installed, the generated OpenCL C is also parsed by a real OpenCL front end.
using System.Diagnostics;
using System.Reflection;
using FluentAssertions;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using Device = IlgpuVit.Runtime.Device;

namespace IlgpuVit.Tests.Kernels;

public class CodegenTests
{
    public static IEnumerable<MethodInfo> AllKernels()
    {
        var assembly = typeof(Ops).Assembly;
        var kernels = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal) && m.ReturnType == typeof(void));
        foreach (var kernel in kernels)
        {
            if (!kernel.IsGenericMethodDefinition)
            {
                yield return kernel;
                continue;
            }
            // One type parameter, constrained to an interface: compile for each implementing struct.
            var constraint = kernel.GetGenericArguments().Single().GetGenericParameterConstraints().Single(c => c.IsInterface);
            foreach (var op in assembly.GetTypes().Where(t => t.IsValueType && constraint.IsAssignableFrom(t)))
                yield return kernel.MakeGenericMethod(op);
        }
    }

    public static TheoryData<string> KernelNames()
    {
        var data = new TheoryData<string>();
        foreach (var k in AllKernels()) data.Add(Describe(k));
        return data;
    }

    private static string Describe(MethodInfo m) =>
        m.IsGenericMethod ? $"{m.Name}<{string.Join(",", m.GetGenericArguments().Select(a => a.Name))}>" : m.Name;

    private static MethodInfo Find(string name) => AllKernels().Single(k => Describe(k) == name);

    private static EntryPointDescription EntryPoint(MethodInfo kernel) =>
        kernel.GetParameters().FirstOrDefault()?.ParameterType == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);

    [Fact]
    public void Finds_the_kernels_of_every_family()
    {
        var names = AllKernels().Select(k => k.Name).ToList();
        names.Should().Contain(["SoftmaxKernel", "GemmCpuKernel", "GemmPackKernel", "GemmTiledKernel"]);
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void Compiles_for_ptx_sm75_and_sm90(string name)
    {
        var kernel = Find(name);
        using var context = Device.CreateContext();   // fresh: a failed compile can poison a context
        foreach (var (arch, isa) in new[] { (CudaArchitecture.SM_75, CudaInstructionSet.ISA_70), (CudaArchitecture.SM_90, CudaInstructionSet.ISA_78) })
        {
            using var backend = new PTXBackend(context, new CudaCapabilityContext(arch), arch, isa, null);
            var compiled = (PTXCompiledKernel)backend.Compile(EntryPoint(kernel), KernelSpecialization.Empty);
            compiled.PTXAssembly.Should().Contain(".entry", $"{name} must produce a PTX entry point for {arch}");
            compiled.PTXAssembly.Should().NotContain("Vector512", "the CPU fast path must be redirected to its portable twin");
        }
    }

    [Fact]
    public void Gpu_gemm_loads_aligned_slices_as_float4()
    {
        // docs/backends.md, "GPU GEMM and attention": operands whose rows start on 16 bytes load four floats at once.
        var kernel = Find("GemmTiledKernel<GemmTile128x128>");
        using var context = Device.CreateContext();
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90,
            CudaInstructionSet.ISA_78, null);
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPoint(kernel), KernelSpecialization.Empty);
        compiled.PTXAssembly.Should().MatchRegex(@"ld(\.global)?\.v4\.f32", "float4 loads of aligned operands");
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void Compiles_to_opencl_c_that_a_real_front_end_accepts(string name)
    {
        var kernel = Find(name);
        using var context = Device.CreateContext();
        var capabilities = new CLCapabilityContext(false, false, true, false, false);
        using var backend = new CLBackend(context, capabilities, CLDeviceVendor.Other, CLCVersion.CL20);
        var compiled = (CLCompiledKernel)backend.Compile(EntryPoint(kernel), KernelSpecialization.Empty);
        compiled.Source.Should().Contain("kernel void");
        var clang = Clang.Value;
        if (clang is null) return;   // the generation itself is checked above; CI installs clang for the parse
        var (code, errors) = Run(clang, "-x cl -cl-std=CL2.0 -fsyntax-only -", compiled.Source);
        code.Should().Be(0, $"clang must accept the OpenCL C of {name}:\n{errors}");
    }

    [Fact]
    public void Every_kernel_is_compiled_fully_optimised_at_its_first_call()
    {
        // docs/backends.md, "Kernel entries and the JIT": tier-0 code of a CPU kernel runs several times slower.
        var kernels = AllKernels().Select(k => k.IsGenericMethod ? k.GetGenericMethodDefinition() : k).Distinct().ToArray();
        kernels.Should().HaveCountGreaterThan(50);
        kernels.Where(k => !k.MethodImplementationFlags.HasFlag(MethodImplAttributes.AggressiveOptimization))
            .Select(Describe).Should().BeEmpty("every kernel entry carries [MethodImpl(MethodImplOptions.AggressiveOptimization)]");
    }

    [Fact]
    public void Every_fast_path_helper_has_a_twin_with_the_same_parameters()
    {
        var pairs = CpuFastPath.Pairs(typeof(Ops).Assembly);
        pairs.Should().Contain(p => p.Fast.Name == "SoftmaxRow" && p.Portable.Name == "SoftmaxRowPortable");
        pairs.Should().Contain(p => p.Fast.Name == "GemmTile");
        foreach (var (fast, portable) in pairs)
            portable.GetParameters().Select(p => p.ParameterType.Name)
                .Should().Equal(fast.GetParameters().Select(p => p.ParameterType.Name), $"{fast.Name} and its twin");
    }

    private static readonly Lazy<string?> Clang = new(() =>
        new[] { "clang", "clang-14", "clang-15", "clang-16" }.FirstOrDefault(c => TryRun(c, "--version")));

    private static bool TryRun(string file, string args)
    {
        try
        {
            return Run(file, args, "").Code == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static (int Code, string Errors) Run(string file, string args, string input)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, errors.Result);
    }
}
