// Real failures, provoked on purpose, become one line with the path and the cause: a full device and
// a read-only file system on a small tmpfs (skipped where mounting is not allowed), a file where a
// folder should be, a folder where a file should be, a missing file, a refused permission.
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public class IoErrorsTests
{
    private static string Describe(Action action)
    {
        var e = action.Should().Throw<Exception>().Which;
        (e is IOException or UnauthorizedAccessException).Should().BeTrue($"{e.GetType()} is an I/O failure");
        return IoErrors.Describe(e);
    }

    [SkippableFact]
    public void A_full_device_is_named()
    {
        using var disk = Tmpfs.Mount(kib: 64);
        string path = Path.Combine(disk.Path, "big.bin");
        Describe(() => File.WriteAllBytes(path, new byte[1 << 20])).Should().Be($"{path}: no space left on the device");
    }

    [SkippableFact]
    public void A_read_only_file_system_is_named()
    {
        using var disk = Tmpfs.Mount(kib: 64, readOnly: true);
        string path = Path.Combine(disk.Path, "a.txt");
        Describe(() => File.WriteAllText(path, "x")).Should().Be($"{path}: the file system is read-only");
        Describe(() => Directory.CreateDirectory(Path.Combine(disk.Path, "run"))).Should().Be($"{Path.Combine(disk.Path, "run")}: the file system is read-only");
    }

    [Fact]
    public void Files_and_folders_in_the_wrong_place_are_named()
    {
        using var temp = new TempFolder();
        string file = temp.File("f");
        File.WriteAllText(file, "x");
        Describe(() => File.WriteAllText(Path.Combine(file, "g"), "x")).Should().Be($"{Path.Combine(file, "g")}: no such folder (or a part of the path is a file)");
        Describe(() => File.OpenRead(temp.File("missing")).Dispose()).Should().Be($"{temp.File("missing")}: no such file");
        string cause = Describe(() => File.ReadAllBytes(temp.Path));
        cause.Should().StartWith(temp.Path + ": ").And.Match(c => c.EndsWith("is a folder, not a file") || c.EndsWith("permission denied"),
            "Linux reports reading a folder as EISDIR or EACCES depending on the call");
    }

    [Fact]
    public void A_refused_permission_is_named()
    {
        IoErrors.Describe(new UnauthorizedAccessException("Access to the path '/runs/a/metrics.jsonl' is denied."))
            .Should().Be("/runs/a/metrics.jsonl: permission denied");
        IoErrors.Describe(new InvalidOperationException("not I/O")).Should().Be("not I/O", "other errors keep their message");
    }
}
