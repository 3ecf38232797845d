// The reader against crafted files: each format rule broken once must give an error naming the file
// and the rule; F16/BF16/F64 and the integer dtypes decode from known bit patterns; reads longer than
// the reader's 1 MB chunk decode across chunk boundaries.
using System.Buffers.Binary;
using System.Text;
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public sealed class SafeTensorsFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // Header JSON (single quotes for readability), data bytes, and the problem the message must state.
    public static TheoryData<string, string, int, string> MalformedHeaders => new()
    {
        { "invalid JSON", "{'a': ", 0, "*not valid JSON*" },
        { "not an object", "[1, 2]", 0, "*header is a JSON array, expected an object*" },
        { "entry not an object", "{'a': 3}", 0, "*tensor 'a' is a JSON number*" },
        { "no dtype", "{'a': {'shape': [1], 'data_offsets': [0, 4]}}", 4, "*tensor 'a' has no \"dtype\"*" },
        { "no shape", "{'a': {'dtype': 'F32', 'data_offsets': [0, 4]}}", 4, "*tensor 'a' has no \"shape\"*" },
        { "no offsets", "{'a': {'dtype': 'F32', 'shape': [1]}}", 4, "*tensor 'a' has no \"data_offsets\"*" },
        { "unknown dtype", "{'a': {'dtype': 'F8', 'shape': [1], 'data_offsets': [0, 1]}}", 1, "*tensor 'a' has unknown dtype \"F8\"*" },
        { "lowercase dtype", "{'a': {'dtype': 'f32', 'shape': [1], 'data_offsets': [0, 4]}}", 4, "*unknown dtype \"f32\"*" },
        { "negative dim", "{'a': {'dtype': 'F32', 'shape': [2, -3], 'data_offsets': [0, 4]}}", 4, "*tensor 'a' has a negative dimension -3*" },
        { "fractional dim", "{'a': {'dtype': 'F32', 'shape': [1.5], 'data_offsets': [0, 4]}}", 4, "*shape element 1.5, expected an integer*" },
        { "shape not array", "{'a': {'dtype': 'F32', 'shape': 4, 'data_offsets': [0, 4]}}", 4, "*shape that is a JSON number*" },
        { "three offsets", "{'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4, 8]}}", 8, "*has 3 data_offsets, expected 2*" },
        { "end before begin", "{'a': {'dtype': 'F32', 'shape': [0], 'data_offsets': [4, 0]}}", 4, "*data_offsets [4, 0]*0 <= begin <= end*" },
        { "wrong byte length", "{'a': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 8]}}", 8, "*tensor 'a' spans 8 bytes, but shape [3] of F32 needs 3 x 4 = 12*" },
        { "offsets outside data", "{'a': {'dtype': 'F32', 'shape': [2], 'data_offsets': [4, 12]}}", 8, "*data_offsets [4, 12] outside the data area of 8 bytes*" },
        { "overlap", "{'a': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]}, 'b': {'dtype': 'F32', 'shape': [1], 'data_offsets': [4, 8]}}", 8, "*tensor 'b' [4, 8) overlaps tensor 'a' [0, 8)*" },
        { "gap", "{'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}, 'b': {'dtype': 'F32', 'shape': [1], 'data_offsets': [8, 12]}}", 12, "*bytes [4, 8)*belong to no tensor*'b'*" },
        { "trailing bytes", "{'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}", 7, "*data area has 7 bytes but the tensors cover only the first 4*" },
        { "data with no tensors", "{}", 4, "*has 4 bytes but the tensors cover only the first 0*" },
        { "metadata not object", "{'__metadata__': 'x'}", 0, "*\"__metadata__\" is a JSON string*" },
        { "metadata value not string", "{'__metadata__': {'epochs': 3}}", 0, "*entry 'epochs' is a JSON number; metadata values must be strings*" },
        { "duplicate tensor", "{'a': {'dtype': 'U8', 'shape': [1], 'data_offsets': [0, 1]}, 'a': {'dtype': 'U8', 'shape': [1], 'data_offsets': [1, 2]}}", 2, "*tensor 'a' appears twice*" },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void Malformed_headers_name_the_file_and_the_problem(string what, string json, int dataBytes, string message)
    {
        string path = _folder.Craft(what.Replace(' ', '_') + ".safetensors", json, dataBytes);
        var open = () => SafeTensorsFile.Open(path);
        open.Should().Throw<SafeTensorsFormatException>().WithMessage(path + ": " + message)
            .Which.FilePath.Should().Be(path);
    }

    [Fact]
    public void A_folder_is_named_as_a_folder_not_a_permission_problem()
    {
        var open = () => SafeTensorsFile.Open(_folder.Path);
        open.Should().Throw<SafeTensorsFormatException>().WithMessage($"{_folder.Path}: is a folder, not a file: give the safetensors file in it.");
    }

    [Fact]
    public void A_file_shorter_than_the_length_prefix_is_rejected()
    {
        string path = _folder.File("short.safetensors");
        File.WriteAllBytes(path, [1, 0, 0]);
        var open = () => SafeTensorsFile.Open(path);
        open.Should().Throw<SafeTensorsFormatException>().WithMessage($"{path}: the file has 3 bytes, fewer than the 8-byte header length.");
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_rejected()
    {
        string path = _folder.Craft("long.safetensors", "{}"u8.ToArray(), [], headerLength: 1000);
        var open = () => SafeTensorsFile.Open(path);
        open.Should().Throw<SafeTensorsFormatException>().WithMessage($"{path}: the header length 1000 goes beyond the file, which has 2 bytes after the length.");
    }

    [Fact]
    public void A_header_length_above_100_MB_is_rejected_before_reading_it()
    {
        string path = _folder.Craft("huge.safetensors", "{}"u8.ToArray(), [], headerLength: 100_000_001);
        var open = () => SafeTensorsFile.Open(path);
        open.Should().Throw<SafeTensorsFormatException>().WithMessage($"{path}: the header length 100000001 is above the 100000000-byte limit.");
    }

    [Fact]
    public void A_header_that_is_not_UTF8_is_rejected()
    {
        string path = _folder.Craft("latin1.safetensors", [(byte)'{', (byte)'"', 0xE9, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []);
        var open = () => SafeTensorsFile.Open(path);
        open.Should().Throw<SafeTensorsFormatException>().WithMessage($"{path}: the header is not valid UTF-8.");
    }

    [Fact]
    public void Unknown_names_list_the_closest_names()
    {
        string path = _folder.Craft("names.safetensors",
            "{'blocks.0.attn.qkv.weight': {'dtype': 'U8', 'shape': [1], 'data_offsets': [0, 1]}," +
            " 'blocks.1.attn.qkv.weight': {'dtype': 'U8', 'shape': [1], 'data_offsets': [1, 2]}," +
            " 'head.bias': {'dtype': 'U8', 'shape': [1], 'data_offsets': [2, 3]}}", 3);
        using var file = SafeTensorsFile.Open(path);
        var read = () => file.ReadIntegers("blocks.0.attn.qkv.weights");
        read.Should().Throw<KeyNotFoundException>()
            .WithMessage($"{path}: no tensor named 'blocks.0.attn.qkv.weights'. Closest names: 'blocks.0.attn.qkv.weight', 'blocks.1.attn.qkv.weight', 'head.bias'.");
    }

    [Fact]
    public void Reading_with_the_wrong_kind_of_reader_names_the_dtype()
    {
        string path = _folder.Craft("kinds.safetensors",
            "{'f': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}, 'i': {'dtype': 'I64', 'shape': [1], 'data_offsets': [4, 12]}}", 12);
        using var file = SafeTensorsFile.Open(path);
        ((Action)(() => file.ReadSingles("i"))).Should().Throw<ArgumentException>().WithMessage("*tensor 'i' has dtype I64; ReadSingles reads*");
        ((Action)(() => file.ReadIntegers("f"))).Should().Throw<ArgumentException>().WithMessage("*tensor 'f' has dtype F32; ReadIntegers reads*");
        ((Action)(() => file.ReadSingles("f", new float[2]))).Should().Throw<ArgumentException>().WithMessage("*tensor 'f' [1] has 1 elements, the destination 2*");
    }

    [Fact]
    public void F16_decodes_from_known_bit_patterns()
    {
        ushort[] bits = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555, 0x8000, 0x7C00, 0xFC00];
        float[] expected = [1f, -2f, 65504f, 5.9604645e-8f, 0.333251953125f, -0f, float.PositiveInfinity, float.NegativeInfinity];
        DecodeSixteenBit("F16", bits).Should().Equal(expected);
    }

    [Fact]
    public void BF16_decodes_from_known_bit_patterns()
    {
        ushort[] bits = [0x3F80, 0xC040, 0x4049, 0x0001, 0x7F7F, 0x8000, 0x7F80, 0xFF80];
        float[] expected = [1f, -3f, 3.140625f, 9.18355e-41f, 3.3895314e38f, -0f, float.PositiveInfinity, float.NegativeInfinity];
        DecodeSixteenBit("BF16", bits).Should().Equal(expected);
    }

    [Fact]
    public void F16_NaN_stays_NaN()
    {
        DecodeSixteenBit("F16", [0x7E00])[0].Should().Be(float.NaN);
        DecodeSixteenBit("BF16", [0x7FC0])[0].Should().Be(float.NaN);
    }

    [Fact]
    public void F64_rounds_to_the_nearest_float()
    {
        double[] values = [0.1, -1e-3, 1e300, 3.0];
        var data = new byte[8 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8 * i), values[i]);
        string path = _folder.Craft("f64.safetensors", Json("{'x': {'dtype': 'F64', 'shape': [2, 2], 'data_offsets': [0, 32]}}"), data);
        using var file = SafeTensorsFile.Open(path);
        file.ReadSingles("x").Should().Equal(0.1f, -1e-3f, float.PositiveInfinity, 3f);
    }

    [Fact]
    public void Integer_dtypes_decode_with_their_sign()
    {
        byte[] data =
        [
            0xFF,                                   // I8 -1
            0xFF,                                   // U8 255
            0x01,                                   // BOOL true
            0xFE, 0xFF,                             // I16 -2
            0xFF, 0xFF,                             // U16 65535
            0xFF, 0xFF, 0xFF, 0xFF,                 // U32 4294967295
            0x00, 0x00, 0x00, 0x80,                 // I32 int.MinValue
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,   // U64 long.MaxValue
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,   // U64 2^64 - 1: too large
        ];
        string path = _folder.Craft("ints.safetensors", Json(
            "{'i8': {'dtype': 'I8', 'shape': [], 'data_offsets': [0, 1]}, 'u8': {'dtype': 'U8', 'shape': [], 'data_offsets': [1, 2]}," +
            " 'b': {'dtype': 'BOOL', 'shape': [1], 'data_offsets': [2, 3]}, 'i16': {'dtype': 'I16', 'shape': [1], 'data_offsets': [3, 5]}," +
            " 'u16': {'dtype': 'U16', 'shape': [1], 'data_offsets': [5, 7]}, 'u32': {'dtype': 'U32', 'shape': [1], 'data_offsets': [7, 11]}," +
            " 'i32': {'dtype': 'I32', 'shape': [1], 'data_offsets': [11, 15]}, 'u64': {'dtype': 'U64', 'shape': [1], 'data_offsets': [15, 23]}," +
            " 'big': {'dtype': 'U64', 'shape': [1], 'data_offsets': [23, 31]}}"), data);
        using var file = SafeTensorsFile.Open(path);
        file.ReadIntegers("i8").Should().Equal(-1);
        file.ReadIntegers("u8").Should().Equal(255);
        file.ReadIntegers("b").Should().Equal(1);
        file.ReadIntegers("i16").Should().Equal(-2);
        file.ReadIntegers("u16").Should().Equal(65535);
        file.ReadIntegers("u32").Should().Equal(4294967295L);
        file.ReadIntegers("i32").Should().Equal(int.MinValue);
        file.ReadIntegers("u64").Should().Equal(long.MaxValue);
        ((Action)(() => file.ReadIntegers("big"))).Should().Throw<OverflowException>().WithMessage("*'big' holds U64 value 18446744073709551615*");
        file.Tensors["i8"].Shape.Should().BeEmpty();
        file.Tensors["i8"].ElementCount.Should().Be(1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(524_288)]     // exactly one 1 MB chunk of F16
    [InlineData(700_001)]     // crosses a chunk boundary, odd length
    public void F16_reads_across_chunk_boundaries(int count)
    {
        var bits = new ushort[count];
        var expected = new float[count];
        for (int i = 0; i < count; i++)
        {
            expected[i] = (i % 2049) - 1024;   // integers up to 1024 are exact in F16
            bits[i] = BitConverter.HalfToUInt16Bits((Half)expected[i]);
        }
        DecodeSixteenBit("F16", bits).Should().Equal(expected);
    }

    [Fact]
    public void Tensors_are_found_by_offset_not_by_key_order()
    {
        var data = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(0), 7f);     // 'z' first in the data
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -1f);    // then 'a'
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8), 2.5f);
        string path = _folder.Craft("order.safetensors", Json(
            "{'a': {'dtype': 'F32', 'shape': [2], 'data_offsets': [4, 12]}, 'z': {'dtype': 'F32', 'shape': [], 'data_offsets': [0, 4]}}"), data);
        using var file = SafeTensorsFile.Open(path);
        file.ReadSingles("a").Should().Equal(-1f, 2.5f);
        file.ReadSingles("z").Should().Equal(7f);
        file.Tensors["a"].Should().BeEquivalentTo(new { Name = "a", DType = SafeTensorDType.F32, Shape = new[] { 2 }, Offset = 4L, ByteLength = 8L });
        file.Metadata.Should().BeEmpty();
    }

    [Fact]
    public void Reads_after_dispose_fail()
    {
        string path = _folder.Craft("closed.safetensors", "{'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}", 4);
        var file = SafeTensorsFile.Open(path);
        file.Dispose();
        ((Action)(() => file.ReadSingles("a"))).Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void A_file_truncated_after_opening_says_so()
    {
        string path = _folder.Craft("shrinks.safetensors", "{'a': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]}}", 16);
        using var file = SafeTensorsFile.Open(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) stream.SetLength(stream.Length - 8);
        ((Action)(() => file.ReadSingles("a"))).Should().Throw<EndOfStreamException>().WithMessage($"{path}: the file ended at byte*truncated*");
    }

    private float[] DecodeSixteenBit(string dtype, ushort[] bits)
    {
        var data = new byte[2 * bits.Length];
        for (int i = 0; i < bits.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), bits[i]);
        string path = _folder.Craft(dtype + ".safetensors", Json($"{{'x': {{'dtype': '{dtype}', 'shape': [{bits.Length}], 'data_offsets': [0, {data.Length}]}}}}"), data);
        using var file = SafeTensorsFile.Open(path);
        var into = new float[bits.Length];
        file.ReadSingles("x", into);
        file.ReadSingles("x").Should().Equal(into, "the array and span readers agree");
        return into;
    }

    private static byte[] Json(string singleQuoted) => Encoding.UTF8.GetBytes(singleQuoted.Replace('\'', '"'));
}
