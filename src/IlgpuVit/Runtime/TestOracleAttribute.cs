// Marks a public method that the library itself never calls: it is kept as a reference the tests
// compare the library's real path against (a composed kernel a planner replaced with a fused one, a
// FLOPs prediction the library instead counts from what ran). Architecture/TestOracleTests fails when
// library code calls one, so an oracle cannot quietly become the thing it checks.

namespace IlgpuVit.Runtime;

/// <summary>A method kept for tests and users as a reference; no library code calls it.</summary>
/// <param name="reason">What it is the oracle of.</param>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class TestOracleAttribute(string reason) : Attribute
{
    /// <summary>What the method is the oracle of.</summary>
    public string Reason { get; } = reason;
}
