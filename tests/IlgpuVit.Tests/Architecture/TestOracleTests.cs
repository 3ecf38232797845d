// Methods marked [TestOracle] are references for the tests, not part of the library's path: no code
// of the project's assemblies may call them, except the device check (IlgpuVit.Experiments.Devices),
// whose job is to run every launcher on a device, oracles included. Read from the compiled IL with Mono.Cecil (which
// NetArchTest already brings), so a call through any overload or lambda is seen.

using FluentAssertions;
using IlgpuVit.Experiments;
using IlgpuVit.Images;
using IlgpuVit.Runtime;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace IlgpuVit.Tests.Architecture;

public class TestOracleTests
{
    private static readonly string[] Assemblies =
    [
        typeof(Device).Assembly.Location, typeof(ImageFolder).Assembly.Location, typeof(ExperimentRunner).Assembly.Location,
        typeof(global::IlgpuVit.Cli.EvalCommand).Assembly.Location,
    ];

    private static IEnumerable<TypeDefinition> Nested(TypeDefinition type) =>
        type.NestedTypes.SelectMany(n => Nested(n).Prepend(n));

    private static bool IsOracle(MethodDefinition method) =>
        method.CustomAttributes.Any(a => a.AttributeType.FullName == typeof(TestOracleAttribute).FullName);

    /// <summary>Every method of the project's assemblies, with the module it lives in.</summary>
    private static IEnumerable<MethodDefinition> Methods() =>
        Assemblies.Select(path => ModuleDefinition.ReadModule(path))
            .SelectMany(module => module.Types.SelectMany(t => Nested(t).Prepend(t)))
            .SelectMany(type => type.Methods);

    private static string Name(MethodReference method) => $"{method.DeclaringType.Name}.{method.Name}({string.Join(", ", method.Parameters.Select(p => p.ParameterType.Name))})";

    [Fact]
    public void The_oracles_are_marked()
    {
        Methods().Where(IsOracle).Select(Name).Should().Contain(["Ops.CosineSimilarity(Tensor`1, Tensor`1, Tensor`1, Single)", "Flops.Macs(VitConfig, ReductionRate)"]);
    }

    /// <summary>The device check compares every launcher on a device with the CPU, the oracles too.</summary>
    private const string DeviceCheck = "IlgpuVit.Experiments.Devices";

    private static bool InDeviceCheck(MethodDefinition method)
    {
        var type = method.DeclaringType;
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type.Namespace == DeviceCheck;
    }

    [Fact]
    public void No_library_code_calls_an_oracle()
    {
        var calls = new List<string>();
        int seen = 0, deviceCheckCalls = 0;
        foreach (var caller in Methods().Where(m => m.HasBody))
            foreach (var instruction in caller.Body.Instructions)
                if (instruction.Operand is MethodReference callee && (instruction.OpCode.FlowControl == FlowControl.Call || instruction.OpCode == OpCodes.Ldftn))
                {
                    seen++;
                    var target = callee.Resolve();
                    if (target is null || !IsOracle(target)) continue;
                    if (InDeviceCheck(caller)) deviceCheckCalls++;
                    else calls.Add($"{Name(caller)} calls {Name(callee)}");
                }
        seen.Should().BeGreaterThan(1000, "the scan must see the library's calls (a positive control)");
        deviceCheckCalls.Should().BePositive("the device check runs the oracles on a device too; if it stops, drop its exemption");
        string.Join("\n", calls).Should().BeEmpty("a [TestOracle] method is the reference the tests check the library's path against");
    }
}
