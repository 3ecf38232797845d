// Weights files with NaN or ±Inf planted in them: a copy of a float32 safetensors file (every tensor and
// the metadata) with chosen values of one tensor replaced, for the tests of what loading such weights does.
using FluentAssertions;
using IlgpuVit.IO;

namespace IlgpuVit.Tests.IO;

public static class CorruptWeights
{
    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> with tensor <paramref name="tensor"/>'s values at the given indices replaced.</summary>
    public static string Copy(string source, string destination, string tensor, params (int Index, float Value)[] values)
    {
        using var file = SafeTensorsFile.Open(source);
        file.Tensors.Should().ContainKey(tensor);
        var tensors = file.Tensors.Values.Select(t =>
        {
            var data = file.ReadSingles(t.Name);
            if (t.Name == tensor)
                foreach (var (index, value) in values) data[index] = value;
            return new SafeTensor(t.Name, t.Shape, data);
        }).ToList();
        SafeTensors.Write(destination, tensors, file.Metadata.ToDictionary());
        return destination;
    }
}
