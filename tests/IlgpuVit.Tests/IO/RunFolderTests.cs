// A run folder is owned by one run: a second holder is refused with the owner named, a holder that
// died is detected (its owner file is stale, the lock itself is gone), temporary files of an
// interrupted atomic write are removed on the next start and nothing else is, and the next free
// numbered folder is found for a default run folder.
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public class RunFolderTests
{
    [Fact]
    public void A_second_holder_is_refused_with_the_owner_named_until_the_first_releases()
    {
        using var temp = new TempFolder();
        string run = temp.File("run");
        using (var first = RunFolder.Acquire(run))
        {
            var second = () => RunFolder.Acquire(run);
            second.Should().Throw<RunFolderException>().WithMessage($"{run} is in use by another run (process {Environment.ProcessId} on *")
                .Which.Message.Should().Contain("wait for it to finish");
            first.StaleOwner.Should().BeNull();
        }
        using var again = RunFolder.Acquire(run);
        again.StaleOwner.Should().BeNull("the first holder released the folder cleanly");
    }

    [Fact]
    public void An_owner_file_without_its_lock_is_reported_as_stale_and_replaced()
    {
        using var temp = new TempFolder();
        string run = temp.File("run");
        Directory.CreateDirectory(run);
        // What a holder killed with SIGKILL leaves: its owner file (the kernel dropped its lock).
        File.WriteAllText(Path.Combine(run, ".ilgpuvit.owner"),
            """{"Pid":999999,"Host":"gone","Started":"2026-01-02T03:04:05Z","Command":"ilgpuvit train --out run"}""");
        using var folder = RunFolder.Acquire(run);
        folder.StaleOwner.Should().Be("process 999999 on gone, started 2026-01-02 03:04:05Z: ilgpuvit train --out run");
        File.ReadAllText(Path.Combine(run, ".ilgpuvit.owner")).Should().Contain($"\"Pid\":{Environment.ProcessId}");
    }

    [Fact]
    public void Temporary_files_of_interrupted_writes_are_removed_and_nothing_else()
    {
        using var temp = new TempFolder();
        string run = temp.File("run");
        Directory.CreateDirectory(run);
        string stale = Path.Combine(run, ".checkpoint.safetensors.tmp-" + Guid.NewGuid().ToString("N"));
        string[] kept = [Path.Combine(run, ".checkpoint.safetensors.tmp-notours"), Path.Combine(run, "checkpoint.safetensors"), Path.Combine(run, "notes.tmp-1")];
        foreach (var f in kept.Append(stale)) File.WriteAllText(f, "x");
        using var folder = RunFolder.Acquire(run);
        folder.RemovedTemporaryFiles.Should().Equal(stale);
        File.Exists(stale).Should().BeFalse();
        kept.Should().OnlyContain(f => File.Exists(f));
    }

    [Fact]
    public void Holds_run_clear_and_the_first_free_numbered_folder()
    {
        using var temp = new TempFolder();
        string run = temp.File("run");
        RunFolder.FirstFree(run).Should().Be(run, "it does not exist yet");
        using (var folder = RunFolder.Acquire(run))
        {
            folder.HoldsRun.Should().BeFalse("only its own lock is there");
            RunFolder.FirstFree(run).Should().Be(run + "-2", "a run holds it now");
            File.WriteAllText(folder.Metrics, "{}\n");
            folder.HoldsRun.Should().BeTrue();
            folder.Clear();
            folder.HoldsRun.Should().BeFalse();
            File.WriteAllText(folder.Checkpoint, "x");
        }
        Directory.CreateDirectory(run + "-2");
        File.WriteAllText(Path.Combine(run + "-2", "summary.json"), "{}");
        RunFolder.FirstFree(run).Should().Be(run + "-3");
    }

    [Fact]
    public void A_file_is_not_a_run_folder()
    {
        using var temp = new TempFolder();
        string file = temp.File("a-file");
        File.WriteAllText(file, "x");
        var acquire = () => RunFolder.Acquire(file);
        acquire.Should().Throw<RunFolderException>().WithMessage($"{file} is a file, not a folder*");
        File.ReadAllText(file).Should().Be("x");
    }
}
