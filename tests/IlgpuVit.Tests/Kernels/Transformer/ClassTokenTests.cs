using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class ClassTokenTests
{
    /// <summary>The class token goes first in every image and the patch rows follow, copied exactly; C below, at and past a 16-lane vector.</summary>
    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Prepend_puts_the_class_token_first_and_copies_the_patches_exactly(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (batch, patches, channels) in new[] { (1, 1, 1), (3, 4, 6), (2, 49, 64), (2, 7, 37) })
        {
            var x = TestData.Uniform(patches + channels, batch * patches * channels, 3f);
            var cls = TestData.Uniform(channels, channels, 3f);
            x[0] = float.NaN;   // copied, not computed on
            using var tx = device.FromArray(x, batch, patches, channels);
            using var tc = device.FromArray(cls, channels);
            using var y = device.FromArray(TestData.Uniform(1, batch * (patches + 1) * channels, 100f), batch, patches + 1, channels);
            Ops.PrependClassToken(tx, tc, y);
            var expected = Enumerable.Range(0, batch)
                .SelectMany(b => cls.Concat(x.Skip(b * patches * channels).Take(patches * channels))).ToArray();
            y.ToArray().Should().Equal(expected, (a, b) => a.Equals(b), $"({batch}, {patches}, {channels})");
        }
    }
}
