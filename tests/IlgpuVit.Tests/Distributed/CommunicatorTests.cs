// The in-process communicator group (docs/distributed.md): all-reduce of odd sizes, of an empty buffer and
// of one larger than the message limit (it goes in pieces), broadcast, and a member that fails: the others
// stop at once with an error naming it, none hangs.
using FluentAssertions;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Distributed;

public class CommunicatorTests
{
    /// <summary>Runs <paramref name="body"/> on every member of a group, one thread each, and returns what each threw.</summary>
    private static Exception?[] OnEveryMember(InProcessGroup group, Action<ICommunicator> body)
    {
        var errors = new Exception?[group.Size];
        var threads = group.Members.Select((m, r) => new Thread(() =>
        {
            try { body(m); }
            catch (Exception e) { errors[r] = e; group.Fail(r, e); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join(TimeSpan.FromSeconds(30)).Should().BeTrue("no member may hang"));
        return errors;
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(2, 1)]
    [InlineData(2, 31)]
    [InlineData(3, 33)]
    [InlineData(2, 197)]
    [InlineData(3, 2500)]   // larger than the message limit of 1000: three pieces
    public void All_reduce_sums_every_element_on_every_member(int size, int length)
    {
        var group = new InProcessGroup(size, maxMessageFloats: 1000);
        var results = new float[size][];
        OnEveryMember(group, m =>
        {
            var data = Enumerable.Range(0, length).Select(i => (float)(i * (m.Rank + 1))).ToArray();
            m.AllReduceSum(data);
            results[m.Rank] = data;
        }).Should().OnlyContain(e => e == null);
        float factor = size * (size + 1) / 2f;
        foreach (var r in results) r.Should().Equal(Enumerable.Range(0, length).Select(i => i * factor));
    }

    [Fact]
    public void Gradient_buckets_of_an_empty_parameter_list_do_nothing()
    {
        var group = new InProcessGroup(2);
        OnEveryMember(group, m => new GradientAverager(m, []).Average(m.Rank).Should().Be(0.5f)).Should().OnlyContain(e => e == null);
    }

    [Fact]
    public void Broadcast_copies_the_roots_bytes_and_mean_divides_by_the_size()
    {
        var group = new InProcessGroup(3);
        OnEveryMember(group, m =>
        {
            var bytes = m.Rank == 1 ? new byte[] { 7, 8, 9 } : new byte[3];
            m.Broadcast(bytes, 1);
            bytes.Should().Equal(7, 8, 9);
            var x = new[] { (float)m.Rank };
            m.AllReduceMean(x);
            x[0].Should().Be(1f);
            m.Disagreeing(m.Rank == 2 ? [1] : [0]).Should().Equal(2);
        }).Should().OnlyContain(e => e == null);
    }

    [Fact]
    public void A_member_that_throws_stops_the_others_with_an_error_naming_it()
    {
        var group = new InProcessGroup(3);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var errors = OnEveryMember(group, m =>
        {
            if (m.Rank == 2) throw new InvalidOperationException("disk full");
            for (int i = 0; i < 10; i++) m.AllReduceSum(new float[10]);
        });
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        errors[0].Should().BeOfType<CommunicatorException>().Which.Message.Should().Contain("rank 2 of 3 failed").And.Contain("disk full");
        errors[1].Should().BeOfType<CommunicatorException>();
    }

    [Fact]
    public void Mismatched_lengths_are_refused()
    {
        var group = new InProcessGroup(2);
        var errors = OnEveryMember(group, m => m.AllReduceSum(new float[m.Rank + 1]));
        errors.Should().OnlyContain(e => e is CommunicatorException);
    }
}
