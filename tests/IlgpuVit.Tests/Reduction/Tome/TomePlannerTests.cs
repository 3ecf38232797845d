// ToMe against an independent implementation: scripts/make_tome_fixtures.py runs ToMe's published
// algorithm (tome/merge.py) in torch, float64, on random tokens, keys and sizes. ToMe's planner applied,
// given the same keys through a qkv tensor, must merge the same tokens (merged rows and sizes) and
// send the same gradient back to the input tokens. Odd and even token counts, r up to its clamp.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Reduction.Tome;

public sealed class TomePlannerTests : IDisposable
{
    private readonly SafeTensorsFile _fixture = SafeTensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "tome_merge.safetensors"));

    public void Dispose() => _fixture.Dispose();

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var backend in new[] { "cpu", "cuda", "opencl" })
            for (int i = 0; i < 4; i++) data.Add(backend, i);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Merges_as_the_torch_reference_of_tome_merge_py(string backend, int index)
    {
        var device = Backends.Get(backend);
        string c = $"case{index}.";
        var xShape = _fixture.Tensors[c + "x"].Shape.Select(s => (int)s).ToArray();
        var kShape = _fixture.Tensors[c + "k"].Shape.Select(s => (int)s).ToArray();
        int batch = xShape[0], tokens = xShape[1], channels = xShape[2], heads = kShape[1], d = kShape[3];
        int r = (int)_fixture.ReadIntegers(c + "r")[0];
        var k = _fixture.ReadSingles(c + "k");
        // qkv (B, T, 3C) with the keys at columns C + h d + e; queries and values do not matter here.
        var qkv = new float[batch * tokens * 3 * channels];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int t = 0; t < tokens; t++)
                    for (int e = 0; e < d; e++)
                        qkv[(b * tokens + t) * 3 * channels + channels + h * d + e] = k[((b * heads + h) * tokens + t) * d + e];

        using var x = new Variable(device.FromArray(_fixture.ReadSingles(c + "x"), xShape), requiresGrad: true);
        using var qkvVar = new Variable(device.FromArray(qkv, batch, tokens, 3 * channels));
        using var sizes = device.FromArray(_fixture.ReadSingles(c + "sizes"), batch, tokens);
        var state = new TokenState { Sizes = sizes };
        using var tape = new Tape();
        var context = new ReductionContext(0, new AttentionOutput(x, qkvVar, heads, ClsAttention: null), state);   // ToMe reads the keys only
        var merged = new TokenReduction(new ReductionSpec(new TomePlanner(LambdaSchedule.One), new MergeCount(r)), depth: 1).Reduce(tape, x, context);

        merged.Shape.Should().Be(new Shape(batch, tokens - r, channels));
        Check.Close(merged.Value.ToArray(), _fixture.ReadSingles(c + "merged").ToDouble(), 1e-5, 1e-6, $"{c}merged");
        Check.Close(state.Sizes.ToArray(), _fixture.ReadSingles(c + "merged_sizes").ToDouble(), 1e-6, 1e-6, $"{c}sizes");
        using var upstream = device.FromArray(_fixture.ReadSingles(c + "upstream"), batch, tokens - r, channels);
        tape.Backward(merged, upstream);
        Check.Close(x.Grad!.ToArray(), _fixture.ReadSingles(c + "grad_x").ToDouble(), 1e-5, 1e-6, $"{c}grad x");
        state.MethodMacs.Should().Be((double)((tokens + 1) / 2 - 1) * (tokens / 2) * d, "the dots of every non-CLS A token with every B token, per image");
        state.KeyBias.Should().NotBeNull("proportional attention is on by default");
    }
}
