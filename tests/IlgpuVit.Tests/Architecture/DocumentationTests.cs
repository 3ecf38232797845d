// The documentation stays true to the tree: every repository path a page names in backticks exists,
// every public launcher of Ops appears in docs/architecture.md (its kernel map), and neither the
// pages nor the source comments point into folders outside the repository. Each test lists what
// it found wrong.
//
// A backticked token is a repository path when it starts with src/, tests/, scripts/, benchmarks/,
// examples/ or docs/, or when it holds a '/' and a file extension and its first folder is one of
// the repository's (configs/, a folder of src/IlgpuVit/ such as Kernels/, a folder beside the page
// such as results/). Other paths (ToMe's tome/merge.py, a run's runs/NAME/..., an image folder's
// val/...) are not the repository's and are left alone. A path is looked up from the repository
// root, from the page's folder and from src/IlgpuVit/ (the base the pages use for short paths);
// '*' and a <placeholder> match any name.

using System.Reflection;
using System.Text.RegularExpressions;
using FluentAssertions;
using IlgpuVit.Kernels;

namespace IlgpuVit.Tests.Architecture;

public partial class DocumentationTests
{
    private static readonly string[] Roots = ["src/", "tests/", "scripts/", "benchmarks/", "examples/", "docs/"];

    private static readonly string[] Forbidden = ["shared/spec", "../shared", "/work/"];

    /// <summary>The checkout holding this test build (the folder with IlgpuVit.sln).</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "IlgpuVit.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no IlgpuVit.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>docs/*.md and README.md, as paths relative to the root.</summary>
    private static IEnumerable<string> Pages(string root) =>
        Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Select(f => Path.GetRelativePath(root, f)).Order().Append("README.md");

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"`([^`\n]+)`")]
    private static partial Regex Backticked();

    [GeneratedRegex(@"\.[A-Za-z][A-Za-z0-9]*$")]
    private static partial Regex Extension();

    [GeneratedRegex(@"<[^<>/]+>")]
    private static partial Regex Placeholder();

    /// <summary>The backticked tokens of a page that look like repository paths.</summary>
    private static IEnumerable<string> RepositoryPaths(string text, ISet<string> folders)
    {
        foreach (Match span in Backticked().Matches(Fence().Replace(text, "")))
            foreach (var raw in span.Groups[1].Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                var token = raw.Trim('(', ')', ',', ';', ':', '\'', '"');
                if (!token.Contains('/') || token.StartsWith('/') || token.Contains("://") || token.IndexOfAny(['~', '$', '{', '}']) >= 0) continue;
                bool rooted = Roots.Any(r => token.StartsWith(r, StringComparison.Ordinal));
                if (rooted || (Extension().IsMatch(token) && folders.Contains(token.Split('/')[0]))) yield return token;
            }
    }

    /// <summary>Whether <paramref name="path"/> ('*' and &lt;placeholders&gt; match any name) names something under <paramref name="baseDir"/>.</summary>
    private static bool Exists(string baseDir, string path)
    {
        var segments = Placeholder().Replace(path, "*").TrimEnd('/').Split('/');
        IEnumerable<string> found = [baseDir];
        foreach (var segment in segments)
            found = found.Where(Directory.Exists).SelectMany(dir => segment.Contains('*')
                ? Directory.GetFileSystemEntries(dir, segment)
                : Path.Exists(Path.Combine(dir, segment)) ? [Path.Combine(dir, segment)] : []).ToArray();
        return path.EndsWith('/') ? found.Any(Directory.Exists) : found.Any();
    }

    [Fact]
    public void Every_repository_path_the_pages_name_exists()
    {
        var root = RepositoryRoot();
        var core = Path.Combine(root, "src", "IlgpuVit");
        var missing = new List<string>();
        int checkedPaths = 0;
        foreach (var page in Pages(root))
        {
            var pageDir = Path.GetDirectoryName(Path.Combine(root, page))!;
            var folders = new[] { root, core, pageDir }
                .SelectMany(Directory.GetDirectories).Select(Path.GetFileName).OfType<string>()
                .Where(name => name is not ("bin" or "obj") && !name.StartsWith('.'))
                .Except(["artifacts", "runs", "gpu-check-out", "TestResults"]).ToHashSet();
            foreach (var path in RepositoryPaths(File.ReadAllText(Path.Combine(root, page)), folders))
            {
                checkedPaths++;
                if (!Exists(root, path) && !Exists(pageDir, path) && !Exists(core, path)) missing.Add($"{page}: `{path}`");
            }
        }
        checkedPaths.Should().BeGreaterThan(100, "the pages name many paths; finding few means the scan is broken");
        missing.Distinct().Should().BeEmpty("every repository path a page names should exist; missing:\n  " + string.Join("\n  ", missing.Distinct()));
    }

    [Fact]
    public void Every_public_launcher_of_Ops_is_in_the_kernel_map()
    {
        var architecture = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "architecture.md"));
        var names = typeof(Ops).GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Select(m => m.Name).Distinct().Order().ToArray();
        names.Should().Contain(["Gemm", "MapBackward", "TraceLaunches"], "reflection should see Ops' public launchers");
        var absent = names.Where(name => !Regex.IsMatch(architecture, $@"\bOps\.{name}\b")).ToArray();
        absent.Should().BeEmpty("every public method of Ops should be named as Ops.NAME in docs/architecture.md; absent: " + string.Join(", ", absent));
    }

    [Fact]
    public void No_page_or_source_comment_points_outside_the_repository()
    {
        var root = RepositoryRoot();
        var offenders = new List<string>();
        void Scan(string file, Func<string, string> visible)
        {
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
                foreach (var bad in Forbidden.Where(visible(lines[i]).Contains))
                    offenders.Add($"{Path.GetRelativePath(root, file)}:{i + 1}: \"{bad}\"");
        }
        var docs = Directory.GetFiles(Path.Combine(root, "docs"), "*", SearchOption.AllDirectories)
            .Where(f => !File.ReadAllBytes(f).Contains((byte)0));
        foreach (var file in docs.Append(Path.Combine(root, "README.md"))) Scan(file, line => line);
        var sources = Directory.GetFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"));
        foreach (var file in sources) Scan(file, Comment);
        offenders.Should().BeEmpty("pages and source comments should cite the repository's own files; found:\n  " + string.Join("\n  ", offenders));
    }

    /// <summary>The comment part of a line of C#: after "//", or the line inside a /* */ or XML doc block.</summary>
    private static string Comment(string line)
    {
        int slash = line.IndexOf("//", StringComparison.Ordinal);
        if (slash >= 0) return line[slash..];
        var trimmed = line.TrimStart();
        return trimmed.StartsWith("/*", StringComparison.Ordinal) || trimmed.StartsWith('*') ? trimmed : "";
    }
}
