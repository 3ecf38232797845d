// Tests that run a command end to end swap Console.Out and Console.Error, which are process-wide:
// they share this collection, so none of them runs beside another.

namespace IlgpuVit.Tests.Cli;

/// <summary>The collection of tests that swap the console.</summary>
[CollectionDefinition(nameof(SwapsConsole), DisableParallelization = true)]
public class SwapsConsole;
