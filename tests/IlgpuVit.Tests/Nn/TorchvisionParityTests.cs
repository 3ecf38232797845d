// Parity with an independent implementation: torchvision's VisionTransformer (Debian's
// python3-torchvision), evaluated in float64 by scripts/make_parity_fixtures.py, with random values
// in every parameter. This model loads the same weights under their timm names and must reproduce
// the logits, the label-smoothed loss and every parameter's gradient within 1e-4 relative.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Nn;

public class TorchvisionParityTests
{
    private static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "torchvision_vit.safetensors");

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Forward_loss_and_every_gradient_match_torchvision(string backend)
    {
        using var file = SafeTensorsFile.Open(FixturePath);
        int Meta(string key) => int.Parse(file.Metadata[key]);
        var config = new VitConfig("torchvision-parity", Meta("image_size"), Meta("patch_size"), 3, Meta("hidden_dim"),
            Meta("num_layers"), Meta("num_heads"), Meta("mlp_dim"), Meta("num_classes"));
        float smoothing = float.Parse(file.Metadata["label_smoothing"], System.Globalization.CultureInfo.InvariantCulture);
        var device = Backends.Get(backend);
        using var model = new VisionTransformer(config, device);
        var byName = model.Parameters().ToDictionary(p => p.Name!);
        var torchNames = file.Tensors.Keys.Where(k => TorchvisionNames.ToTimm(k) is not null).ToArray();
        torchNames.Select(k => TorchvisionNames.ToTimm(k)).Should().BeEquivalentTo(byName.Keys, "every parameter maps one to one");
        foreach (var name in torchNames) byName[TorchvisionNames.ToTimm(name)!].Value.CopyFrom(file.ReadSingles(name));

        var input = file.Info("input");
        using var images = Tensor<float>.FromArray(device, file.ReadSingles("input"), input.Shape);
        var labels = file.ReadIntegers("labels").Select(l => (int)l).ToArray();
        using var labelTensor = Tensor<int>.FromArray(device, labels, labels.Length);
        using var tape = new Tape();
        var logits = model.Forward(tape, images);
        Check.Close(logits.Value.ToArray(), file.ReadSingles("logits").ToDouble(), 1e-4, 1e-6, "logits");
        var loss = tape.CrossEntropy(logits, labelTensor, smoothing);
        Check.Close(loss.Value.ToArray(), file.ReadSingles("loss").ToDouble(), 1e-4, 0, "loss");
        tape.Backward(loss);
        foreach (var name in torchNames)
        {
            var expected = file.ReadSingles("grad." + name).ToDouble();
            double scale = expected.Max(Math.Abs);
            Check.Close(byName[TorchvisionNames.ToTimm(name)!].Grad!.ToArray(), expected, 1e-4, 1e-5 * scale, "gradient of " + name);
        }
    }
}
