// The writer: round trips through the reader for every writable dtype and for odd, scalar and empty
// shapes; the header layout (8-byte aligned, sorted, metadata); argument errors before any file is
// touched; and atomicity: a failure mid-write leaves the old file intact and no temporary file behind.
using System.Buffers.Binary;
using System.Text;
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public sealed class SafeTensorsWriteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public static TheoryData<int[]> Shapes => new() { Array.Empty<int>(), new[] { 1 }, new[] { 7 }, new[] { 31, 33 }, new[] { 197, 3 }, new[] { 2, 1, 5, 3 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_dtype_round_trips(int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var singles = Enumerable.Range(0, n).Select(i => MathF.Sin(i) * 1e3f + 1e-7f * i).ToArray();
        var longs = Enumerable.Range(0, n).Select(i => (long)i * 3_000_000_007L - 5).ToArray();
        var ints = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? int.MinValue + i : int.MaxValue - i).ToArray();
        string path = _folder.File("all.safetensors");

        SafeTensors.Write(path, [new("w", shape, singles), new("labels", shape, longs), new("idx", shape, ints)]);

        using var file = SafeTensorsFile.Open(path);
        file.Tensors.Keys.Should().BeEquivalentTo("w", "labels", "idx");
        file.ReadSingles("w").Should().Equal(singles);
        file.ReadIntegers("labels").Should().Equal(longs);
        file.ReadIntegers("idx").Should().Equal(ints.Select(i => (long)i));
        file.Tensors["w"].DType.Should().Be(SafeTensorDType.F32);
        file.Tensors["labels"].DType.Should().Be(SafeTensorDType.I64);
        file.Tensors["idx"].DType.Should().Be(SafeTensorDType.I32);
        foreach (var info in file.Tensors.Values) info.Shape.Should().Equal(shape);
    }

    [Fact]
    public void Empty_tensors_round_trip_and_take_no_bytes()
    {
        // A zero dimension is legal in the format (PyTorch writes such tensors); it occupies [x, x).
        string path = _folder.File("empty.safetensors");
        SafeTensors.Write(path, [new("a", [2, 0, 3], Array.Empty<float>()), new("b", [3], new[] { 1f, 2f, 3f }), new("c", [0], Array.Empty<long>())]);
        using var file = SafeTensorsFile.Open(path);
        file.ReadSingles("a").Should().BeEmpty();
        file.ReadIntegers("c").Should().BeEmpty();
        file.Tensors["a"].Shape.Should().Equal(2, 0, 3);
        file.Tensors["a"].ByteLength.Should().Be(0);
        file.ReadSingles("b").Should().Equal(1f, 2f, 3f);
    }

    [Fact]
    public void Large_tensors_round_trip_through_chunked_reads()
    {
        var longs = Enumerable.Range(0, 200_003).Select(i => (long)i * i - 7).ToArray();   // 1.6 MB: two read chunks
        var singles = Enumerable.Range(0, 300_001).Select(i => i * 0.5f).ToArray();
        string path = _folder.File("large.safetensors");
        SafeTensors.Write(path, [new("l", [200_003], longs), new("s", [1, 300_001], singles)]);
        using var file = SafeTensorsFile.Open(path);
        file.ReadIntegers("l").Should().Equal(longs);
        file.ReadSingles("s").Should().Equal(singles);
    }

    [Fact]
    public void The_header_is_sorted_padded_to_8_bytes_and_carries_the_metadata()
    {
        string path = _folder.File("layout.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"" };
        SafeTensors.Write(path, [new("zeta", [1], new[] { 1f }), new("alpha", [2], new long[] { 1, 2 }), new("mid é+", [3], new[] { 1, 2, 3 })], metadata);

        var bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ((8 + n) % 8).Should().Be(0);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        header.Should().StartWith("{\"__metadata__\":").And.EndWith("}" + new string(' ', header.Length - header.TrimEnd().Length));
        header.IndexOf("\"alpha\"", StringComparison.Ordinal).Should().BeLessThan(header.IndexOf("\"mid é+\"", StringComparison.Ordinal));
        header.IndexOf("\"mid é+\"", StringComparison.Ordinal).Should().BeLessThan(header.IndexOf("\"zeta\"", StringComparison.Ordinal));
        bytes.Length.Should().Be((int)(8 + n + 16 + 12 + 4), "the data is exactly the tensors' bytes");

        using var file = SafeTensorsFile.Open(path);
        file.Metadata.Should().BeEquivalentTo(metadata);
        file.Tensors["alpha"].Offset.Should().Be(0);
        file.Tensors["mid é+"].Offset.Should().Be(16);
        file.Tensors["zeta"].Offset.Should().Be(28);
    }

    [Fact]
    public void No_tensors_makes_a_valid_empty_file()
    {
        string path = _folder.File("none.safetensors");
        SafeTensors.Write(path, []);
        File.ReadAllBytes(path).Length.Should().Be(16, "8 bytes of length and \"{}\" padded to 8");
        using var file = SafeTensorsFile.Open(path);
        file.Tensors.Should().BeEmpty();
    }

    [Fact]
    public void Bad_tensors_are_rejected_when_built()
    {
        ((Action)(() => new SafeTensor("a", [2, 3], new float[5]))).Should().Throw<ArgumentException>().WithMessage("Tensor 'a' has 5 values, but shape [2, 3] needs 6.*");
        ((Action)(() => new SafeTensor("a", [2, -1], new float[2]))).Should().Throw<ArgumentException>().WithMessage("Tensor 'a' has a negative dimension in shape [2, -1].*");
        ((Action)(() => new SafeTensor("", [1], new float[1]))).Should().Throw<ArgumentException>().WithMessage("*name must not be empty*");
        ((Action)(() => new SafeTensor("__metadata__", [1], new long[1]))).Should().Throw<ArgumentException>().WithMessage("*reserved for the metadata*");
    }

    [Fact]
    public void The_shape_is_copied()
    {
        int[] shape = [3];
        var tensor = new SafeTensor("a", shape, new float[3]);
        shape[0] = 99;
        tensor.Shape.Should().Equal(3);
    }

    [Fact]
    public void Duplicate_names_fail_before_the_file_is_touched()
    {
        string path = ExistingFile(out var original);
        var write = () => SafeTensors.Write(path, [new("x", [1], new[] { 1f }), new("y", [1], new[] { 2f }), new("x", [2], new long[2])]);
        write.Should().Throw<ArgumentException>().WithMessage($"{path}: two tensors are named 'x'; names must be unique.*");
        File.ReadAllBytes(path).Should().Equal(original);
        TempFiles().Should().BeEmpty();
    }

    [Fact]
    public void An_enumerable_that_throws_leaves_the_old_file_and_no_temporary_file()
    {
        string path = ExistingFile(out var original);
        var write = () => SafeTensors.Write(path, FirstThenThrow());
        write.Should().Throw<InvalidOperationException>().WithMessage("producer failed");
        File.ReadAllBytes(path).Should().Equal(original);
        TempFiles().Should().BeEmpty();

        static IEnumerable<SafeTensor> FirstThenThrow()
        {
            yield return new SafeTensor("first", [2], new[] { 1f, 2f });
            throw new InvalidOperationException("producer failed");
        }
    }

    [Fact]
    public void A_failure_after_data_is_written_deletes_the_temporary_file_and_keeps_the_old_one()
    {
        string path = ExistingFile(out var original);
        int tempFilesDuringWrite = -1;
        var write = () => SafeTensors.Write(path, [new("a", [31], new float[31]), new("b", [33], new float[33])], null, afterTensor: t =>
        {
            tempFilesDuringWrite = TempFiles().Length;
            throw new IOException("disk full (simulated)");
        });
        write.Should().Throw<IOException>().WithMessage("disk full (simulated)");
        tempFilesDuringWrite.Should().Be(1, "the data goes to a temporary file beside the target");
        File.ReadAllBytes(path).Should().Equal(original);
        TempFiles().Should().BeEmpty();
    }

    [Fact]
    public void A_successful_write_replaces_the_old_file_and_leaves_no_temporary_file()
    {
        string path = ExistingFile(out _);
        SafeTensors.Write(path, [new("new", [1], new long[] { 42 })]);
        using var file = SafeTensorsFile.Open(path);
        file.Tensors.Keys.Should().Equal("new");
        file.ReadIntegers("new").Should().Equal(42);
        TempFiles().Should().BeEmpty();
    }

    private string ExistingFile(out byte[] bytes)
    {
        string path = _folder.File("model.safetensors");
        SafeTensors.Write(path, [new("old", [2], new[] { 3f, 4f })], new Dictionary<string, string> { ["v"] = "1" });
        bytes = File.ReadAllBytes(path);
        return path;
    }

    private string[] TempFiles() => Directory.GetFiles(_folder.Path, ".*.tmp-*");
}
