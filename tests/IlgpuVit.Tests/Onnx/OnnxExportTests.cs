// ONNX export checked by ONNX Runtime (docs/onnx.md): every exported model runs in ONNX Runtime on the
// CPU and its logits match IlgpuVit's on the same random images within 1e-4 of the largest logit, and a
// pruned model keeps the same tokens in every reducing block (the export's debug outputs "kept.{l}"
// against the selection IlgpuVit's planner makes). Methods ONNX cannot express are refused by name.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Nn;
using IlgpuVit.Onnx;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace IlgpuVit.Tests.Onnx;

public class OnnxExportTests
{
    private static readonly VitConfig Tiny = new("onnx-tiny", 16, 4, 3, 16, 3, 2, 32, 5);              // 16 patches + CLS
    private static readonly VitConfig TinyGap = Tiny with { Name = "onnx-tiny-gap", GlobalPool = "avg" };

    public static TheoryData<string, string> Cases => new()
    {
        { "onnx-tiny", "none" },
        { "onnx-tiny-gap", "none" },
        { "vit_micro_patch4_28", "none" },
        { "onnx-tiny", "topk:rate=0.25" },
        { "vit_micro_patch4_28", "topk:rate=0.1" },
        { "onnx-tiny", "topk-vpa:rate=0.25" },
        { "onnx-tiny", "topk-vpa:rate=0.25,mode=attention,lambda=0.5..1" },
        { "onnx-tiny", "topk-vpa:rate=0.25,mode=uniform" },
        { "vit_micro_patch4_28", "topk-vpa:rate=0.1" },
        { "vit_micro_patch4_28", "topk-vpa:keep=0.7@1,3" },
        { "onnx-tiny", "evit:rate=0.25" },
        { "vit_micro_patch4_28", "evit:keep=0.7@1,3" },
        { "onnx-tiny", "etps:rate=0.25" },
        { "vit_micro_patch4_28", "etps:rate=0.1,tau=0.5" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Onnx_runtime_gives_the_same_logits_and_kept_tokens(string arch, string method)
    {
        var config = arch switch { "onnx-tiny" => Tiny, "onnx-tiny-gap" => TinyGap, _ => ModelRegistry.Get(arch) };
        using var model = RandomModel(config);
        ReductionMethod.Apply(model, method);
        var bytes = OnnxExporter.ToBytes(model, new OnnxExportOptions(KeptTokens: true));
        var recorders = model.Blocks.Select(b => b.Reducer is TokenReduction r ? new KeptRecorder(r) : null).ToArray();
        model.Reducers = recorders.Select(r => (ITokenReducer?)r).ToArray();

        const int batch = 3;
        var pixels = TestData.Uniform(7, (long)batch * config.InChannels * config.ImageSize * config.ImageSize);
        using var images = Backends.Cpu.FromArray(pixels, batch, config.InChannels, config.ImageSize, config.ImageSize);
        float[] expected;
        using (var tape = Tape.NoGrad()) expected = model.Forward(tape, images).Value.ToArray();

        using var session = new InferenceSession(bytes, new SessionOptions { IntraOpNumThreads = 1 });
        var input = new DenseTensor<float>(pixels, [batch, config.InChannels, config.ImageSize, config.ImageSize]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, input)]);
        var actual = results.First(r => r.Name == OnnxExporter.OutputName).AsTensor<float>().ToArray();

        actual.Should().HaveCount(expected.Length);
        float scale = expected.Max(MathF.Abs), worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        (worst / scale).Should().BeLessThan(1e-4f, $"{method} on {arch}: max |Δ| {worst} against largest logit {scale}");

        // The same kept tokens, block by block.
        for (int l = 0; l < recorders.Length; l++)
        {
            var recorded = recorders[l]?.Kept;
            var output = results.FirstOrDefault(r => r.Name == $"kept.{l}");
            if (recorded is null)
            {
                output.Should().BeNull($"block {l} keeps every token in IlgpuVit");
                continue;
            }
            output.Should().NotBeNull($"block {l} prunes in IlgpuVit");
            output!.AsTensor<long>().ToArray().Select(i => (int)i).Should().Equal(recorded, $"block {l}'s kept tokens");
        }
    }

    [Theory]
    [InlineData("tome:r=2", "ToMe")]
    public void Methods_onnx_cannot_express_are_refused_by_name(string method, string name)
    {
        using var model = RandomModel(Tiny);
        ReductionMethod.Apply(model, method);
        var export = () => OnnxExporter.Export(model);
        export.Should().Throw<OnnxExportException>().WithMessage($"*{name}*");
    }

    [Fact]
    public void Save_refuses_to_replace_a_file_unless_told_to()
    {
        using var model = RandomModel(Tiny);
        string path = Path.Combine(Path.GetTempPath(), $"onnx-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllText(path, "the user's file");
            var save = () => OnnxExporter.Save(model, path, overwrite: false);
            save.Should().Throw<IOException>();
            File.ReadAllText(path).Should().Be("the user's file");
            OnnxExporter.Save(model, path, overwrite: true);
            using var session = new InferenceSession(path);
            session.OutputMetadata.Keys.Should().Equal(OnnxExporter.OutputName);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A model whose parameters are uniform in [−0.3, 0.3), so attention is far from uniform and Top-K has no near-ties.</summary>
    private static VisionTransformer RandomModel(VitConfig config)
    {
        var model = new VisionTransformer(config, Backends.Cpu, seed: 3);
        int seed = 11;
        foreach (var p in model.Parameters()) p.Value.CopyFrom(TestData.Uniform(seed++, p.Shape.Length, 0.3f));
        return model;
    }

    /// <summary>Records the rows IlgpuVit's Top-K selection keeps in a block (CLS then kept tokens, image by image), then reduces as before.</summary>
    private sealed class KeptRecorder(TokenReduction inner) : ITokenReducer
    {
        public int[]? Kept { get; private set; }

        public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
        {
            int tokens = x.Shape[1], removed = inner.Rate.Removed(context.Layer, tokens);
            int keep = inner.Spec.Planner is EvitPlanner ? Math.Max(1, tokens - 2 - removed) : tokens - 1 - removed;
            bool reduces = inner.Spec.Planner is EvitPlanner ? removed > 0 && keep + 1 < tokens - 1 : keep < tokens - 1;
            if (reduces)
            {
                using var selection = TopKSelection.Select(new PlanningContext(context.Layer, inner.Depth, inner.Rate, x.Value, context.Attention,
                    context.State.Sizes), keep);
                Kept = selection.Kept.ToArray();
            }
            return inner.Reduce(tape, x, context);
        }
    }
}
