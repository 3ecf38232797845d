// The layering of the code, checked on the compiled assemblies (NetArchTest reads their IL): a
// namespace may use the namespaces of the layers below its own and nothing else of the project, so
// no layer reaches up and none of a layer's namespaces uses another of the same layer. Lowest first:
//   Runtime, Data < Kernels < Autodiff < Nn < Reduction, IO < Metrics, Onnx < Training < Experiments < Cli
// Data (host-only readers, loaders, the Batch every model input comes in) uses nothing of the project,
// so anything above may use it. IO (safetensors, run folders, weight import into a model) sits beside
// Reduction, above Nn: it knows modules, never training. Metrics (FLOPs, latency under reduction
// specs, logs) sits above both, beside Onnx (the ONNX exporter, its own assembly: model and reducers
// to an ONNX graph); Training above all of those; Experiments is the app layer (its own
// assembly), beside it Mpi (its own assembly: the MPI communicator, native only when asked for), and Cli only parses and prints. IlgpuVit.Images stands apart: it uses only the core's Data
// types, and only the app layer and the CLI use it. Every namespace of the project must appear here,
// so a new one is placed on purpose (docs/architecture.md, "Layers").

using FluentAssertions;
using IlgpuVit.Experiments;
using IlgpuVit.Images;
using NetArchTest.Rules;

namespace IlgpuVit.Tests.Architecture;

public class LayeringTests
{
    /// <summary>The layers, lowest first; a namespace covers its sub-namespaces.</summary>
    private static readonly string[][] Layers =
    [
        ["IlgpuVit.Runtime", "IlgpuVit.Data"],
        ["IlgpuVit.Kernels"],
        ["IlgpuVit.Autodiff"],
        ["IlgpuVit.Nn"],
        ["IlgpuVit.Reduction", "IlgpuVit.IO"],
        ["IlgpuVit.Metrics", "IlgpuVit.Onnx"],
        ["IlgpuVit.Training"],
        ["IlgpuVit.Experiments", "IlgpuVit.Mpi"],
        ["IlgpuVit.Cli"],
    ];

    private const string Images = "IlgpuVit.Images";

    /// <summary>What Images may use of the core: its data types.</summary>
    private static readonly string[] ImagesUses = ["IlgpuVit.Data"];

    /// <summary>The layers that may use Images: the app layer and above.</summary>
    private const int FirstImagesUser = 7;

    private static readonly Types Project = Types.InAssemblies(
    [
        typeof(global::IlgpuVit.Runtime.Device).Assembly, typeof(ImageFolder).Assembly, typeof(ExperimentRunner).Assembly, typeof(global::IlgpuVit.Cli.EvalCommand).Assembly,
        typeof(global::IlgpuVit.Onnx.OnnxExporter).Assembly,
        typeof(global::IlgpuVit.Mpi.MpiCommunicator).Assembly,
    ]);

    private static IEnumerable<string> AllNamespaces => Layers.SelectMany(layer => layer).Append(Images);

    /// <summary>"TYPE uses NAMESPACE" for each type of <paramref name="from"/> (or below it) that depends on a namespace of <paramref name="forbidden"/>.</summary>
    private static IEnumerable<string> Uses(string from, IEnumerable<string> forbidden) =>
        forbidden.SelectMany(to => (Project.That().ResideInNamespaceMatching($@"^{Regex(from)}(\.|$)").ShouldNot().HaveDependencyOn(to).GetResult()
            .FailingTypeNames ?? []).Select(type => $"{type} uses {to}"));

    private static string Regex(string ns) => System.Text.RegularExpressions.Regex.Escape(ns);

    [Fact]
    public void No_namespace_uses_one_of_its_own_layer_or_above()
    {
        var violations = new List<string>();
        for (int level = 0; level < Layers.Length; level++)
            foreach (var ns in Layers[level])
            {
                var above = Layers.Skip(level).SelectMany(layer => layer).Where(other => other != ns);
                var images = level < FirstImagesUser ? [Images] : Array.Empty<string>();
                violations.AddRange(Uses(ns, above.Concat(images)));
            }
        // Joined, so the message lists every violation (a collection assertion names only the first).
        string.Join("\n", violations).Should().BeEmpty("a layer uses only the layers below it (see the header of this file for the order)");
    }

    [Fact]
    public void Images_uses_only_the_cores_data_types()
    {
        var rest = AllNamespaces.Where(ns => ns != Images && !ImagesUses.Contains(ns));
        string.Join("\n", Uses(Images, rest)).Should().BeEmpty("image folders produce the core's Batch and nothing above it");
    }

    [Fact]
    public void Every_namespace_of_the_project_has_a_place()
    {
        var placed = Project.That().ResideInNamespaceStartingWith("IlgpuVit").GetTypes().Select(t => t.Namespace!).Distinct()
            .Where(ns => !AllNamespaces.Any(known => ns == known || ns.StartsWith(known + ".", StringComparison.Ordinal)));
        string.Join("\n", placed).Should().BeEmpty("each namespace must be put in a layer of this test");
    }

    [Fact]
    public void The_check_sees_real_dependencies()
    {
        // Positive controls: without them a checker that saw nothing would pass every rule above.
        Uses("IlgpuVit.Training", ["IlgpuVit.Nn"]).Should().NotBeEmpty();
        Uses("IlgpuVit.Nn", ["IlgpuVit.Autodiff"]).Should().NotBeEmpty();
        Uses("IlgpuVit.Experiments", [Images]).Should().NotBeEmpty();
        Uses("IlgpuVit.Cli", ["IlgpuVit.Experiments"]).Should().NotBeEmpty();
    }
}
