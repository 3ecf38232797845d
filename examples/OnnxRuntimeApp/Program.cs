// The deployment side of examples/OnnxExport (docs/onnx.md): a console app that knows nothing of
// IlgpuVit. It loads the exported model.onnx in ONNX Runtime (CPU), runs the batch the export wrote,
// prints the accuracy and the largest difference from IlgpuVit's logits, and exits 1 if that
// difference exceeds 1e-3 of the largest logit (the parity tests hold 1e-4 on random models; over a
// batch of real images a score tie broken differently by rounding can move one image's logits more).
//   dotnet run -c Release --project examples/OnnxRuntimeApp [-- FOLDER]
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

string folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "ilgpuvit-onnx-example");
using var session = new InferenceSession(Path.Combine(folder, "model.onnx"));
var inputName = session.InputMetadata.Keys.Single();
Console.WriteLine($"model.onnx: input '{inputName}' {string.Join("x", session.InputMetadata[inputName].Dimensions)}, " +
    $"method {session.ModelMetadata.CustomMetadataMap.GetValueOrDefault("ilgpuvit.method", "?")}");

using var reader = new BinaryReader(File.OpenRead(Path.Combine(folder, "batch.bin")));
int count = reader.ReadInt32(), channels = reader.ReadInt32(), size = reader.ReadInt32(), classes = reader.ReadInt32();
float[] Floats(int n) => Enumerable.Range(0, n).Select(_ => reader.ReadSingle()).ToArray();
var pixels = Floats(count * channels * size * size);
var labels = Enumerable.Range(0, count).Select(_ => reader.ReadInt32()).ToArray();
var expected = Floats(count * classes);

var input = new DenseTensor<float>(pixels, [count, channels, size, size]);
using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
var logits = results.First().AsTensor<float>().ToArray();
int correct = Enumerable.Range(0, count).Count(i =>
    Array.IndexOf(logits, logits.Skip(i * classes).Take(classes).Max(), i * classes, classes) - i * classes == labels[i]);
float scale = expected.Max(MathF.Abs), error = expected.Zip(logits, (e, a) => MathF.Abs(e - a)).Max();
Console.WriteLine($"ONNX Runtime: {correct} of {count} test images right; max |logit - IlgpuVit's| = {error:G3} (largest logit {scale:G3})");
return error <= 1e-3f * scale ? 0 : 1;
