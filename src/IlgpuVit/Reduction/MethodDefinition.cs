// One entry of the registry of methods (ReductionMethod): the name a spec starts with, the options it
// takes after its rate, and how its planner is made from them. Each planner declares its own beside
// itself (e.g. TomePlanner.Definition), so the registry is one line per method.

namespace IlgpuVit.Reduction;

/// <summary>A reduction method as specs name it.</summary>
/// <param name="Name">What a spec starts with ("tome").</param>
/// <param name="Options">The options it takes after its rate.</param>
/// <param name="Create">Its planner from the options a spec gave (reading an option removes it; what is left is refused).</param>
public sealed record MethodDefinition(string Name, IReadOnlyList<MethodOption> Options, Func<MethodOptions, ITokenPlanner> Create);

/// <summary>An option of a method spec.</summary>
/// <param name="Name">Its key ("lambda").</param>
/// <param name="Usage">How the usage line spells it ("lambda=L|L1..L2").</param>
public sealed record MethodOption(string Name, string Usage);
