// Fuzz-style tests of the safetensors reader (issue 6, item 1): a small valid file cut at every
// length, seeded random byte flips in its length prefix and header, extreme header lengths, every
// dtype with a byte count one off, and headers that are malformed in ways the rule-by-rule tests in
// SafeTensorsFileTests do not cover (bad UTF-8 sequences, escapes that decode to invalid UTF-16, deep
// nesting, numbers too large for an offset). Every broken file must raise SafeTensorsFormatException
// naming the file: never another exception type. A flip that leaves the file valid (a letter of a
// tensor name, say) must open and read cleanly.
using System.Text;
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public sealed class SafeTensorsFuzzTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>A valid file of F32, I64 and I32 tensors (odd shapes, a scalar, an empty tensor) with metadata.</summary>
    private byte[] ValidFile()
    {
        string path = _folder.File("valid.safetensors");
        SafeTensors.Write(path,
        [
            new SafeTensor("blocks.0.attn.qkv.weight", [3, 2], [1f, -2f, 3.5f, 0f, 1e-3f, 7f]),
            new SafeTensor("cls_token", [], [0.25f]),
            new SafeTensor("empty", [0, 4], Array.Empty<float>()),
            new SafeTensor("labels", [3], [4L, -1L, 9L]),
            new SafeTensor("steps", [1], [31]),
        ], new Dictionary<string, string> { ["format"] = "pt", ["note"] = "fuzz" });
        return File.ReadAllBytes(path);
    }

    private static long HeaderLength(byte[] file) => BitConverter.ToInt64(file, 0);

    /// <summary>Opens <paramref name="bytes"/> as a file; returns null if it opened (and every tensor read), else the format error.</summary>
    private SafeTensorsFormatException? Open(string name, byte[] bytes)
    {
        string path = _folder.File(name);
        File.WriteAllBytes(path, bytes);
        try
        {
            using var file = SafeTensorsFile.Open(path);
            foreach (var info in file.Tensors.Values)
                if (info.DType.IsFloat()) file.ReadSingles(info.Name); else file.ReadIntegers(info.Name);
            return null;
        }
        catch (SafeTensorsFormatException e)
        {
            e.FilePath.Should().Be(path);
            e.Message.Should().StartWith(path + ": ");
            return e;
        }
        // Any other exception escapes and fails the test, with the input named by the file name.
    }

    [Fact]
    public void The_valid_file_opens()
    {
        Open("valid-copy.safetensors", ValidFile()).Should().BeNull();
    }

    [Fact]
    public void A_file_cut_at_any_length_is_rejected()
    {
        var valid = ValidFile();
        for (int length = 0; length < valid.Length; length++)
            Open($"cut-{length}.safetensors", valid[..length]).Should().NotBeNull($"the file cut to {length} of {valid.Length} bytes is broken");
    }

    [Fact]
    public void Random_byte_flips_in_the_prefix_and_header_give_a_format_error_or_a_valid_file()
    {
        var valid = ValidFile();
        int headerEnd = 8 + (int)HeaderLength(valid);
        var random = new Random(6);
        int rejected = 0, trials = 1500;
        for (int trial = 0; trial < trials; trial++)
        {
            var bytes = (byte[])valid.Clone();
            int flips = 1 + random.Next(3);
            for (int f = 0; f < flips; f++)
                bytes[random.Next(headerEnd)] ^= (byte)(1 + random.Next(255));   // never a no-op flip
            if (Open($"flip-{trial}.safetensors", bytes) is not null) rejected++;
        }
        // Most flips break the JSON, a number or the UTF-8; the rest (inside a name or the metadata) are still valid files.
        rejected.Should().BeGreaterThan(trials / 2);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData((ulong)long.MaxValue + 1)]
    [InlineData((ulong)long.MaxValue)]
    [InlineData(100_000_001UL)]
    [InlineData(1UL << 32)]
    public void Header_lengths_beyond_the_limit_or_the_file_are_rejected(ulong headerLength)
    {
        var bytes = ValidFile();
        BitConverter.GetBytes(headerLength).CopyTo(bytes, 0);
        Open("length.safetensors", bytes).Should().NotBeNull();
    }

    [Fact]
    public void A_header_length_one_past_the_file_or_short_of_the_header_is_rejected()
    {
        var valid = ValidFile();
        foreach (long delta in new long[] { valid.Length - 8 - HeaderLength(valid) + 1, -1, -8, 1 - HeaderLength(valid) })
        {
            var bytes = (byte[])valid.Clone();
            BitConverter.GetBytes(HeaderLength(valid) + delta).CopyTo(bytes, 0);
            Open($"length{delta}.safetensors", bytes).Should().NotBeNull($"header length off by {delta}");
        }
    }

    public static TheoryData<string, int> DTypes => new()
    {
        { "F64", 8 }, { "F32", 4 }, { "F16", 2 }, { "BF16", 2 }, { "I64", 8 }, { "I32", 4 }, { "I16", 2 }, { "I8", 1 },
        { "U64", 8 }, { "U32", 4 }, { "U16", 2 }, { "U8", 1 }, { "BOOL", 1 },
    };

    [Theory]
    [MemberData(nameof(DTypes))]
    public void A_byte_count_that_does_not_match_the_dtype_size_is_rejected(string dtype, int size)
    {
        foreach (int bytes in new[] { 7 * size - 1, 7 * size + 1, 7 * size + size })
        {
            string json = $"{{'x': {{'dtype': '{dtype}', 'shape': [7], 'data_offsets': [0, {bytes}]}}}}";
            string path = _folder.Craft($"{dtype}-{bytes}.safetensors", json, bytes);
            var open = () => SafeTensorsFile.Open(path);
            open.Should().Throw<SafeTensorsFormatException>()
                .WithMessage($"{path}: tensor 'x' spans {bytes} bytes, but shape [7] of {dtype} needs 7 x {size} = {7 * size}.");
        }
    }

    // Header bytes (as Latin-1 text, so each char is one byte) that are malformed beyond the single-rule cases, and
    // the problem the message must state.
    public static TheoryData<string, string, string> OddHeaders => new()
    {
        { "empty header", "", "*not valid JSON*" },
        { "spaces only", "        ", "*not valid JSON*" },
        { "overlong UTF-8 slash", "{\"\u00C0\u00AF\": 1}", "*not valid UTF-8*" },
        { "UTF-8 encoded surrogate", "{\"\u00ED\u00A0\u0080\": 1}", "*not valid UTF-8*" },
        { "cut multi-byte sequence", "{\"a\": 1}\u00E2\u0082", "*not valid UTF-8*" },
        { "byte-order mark", "\u00EF\u00BB\u00BF{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "*not valid JSON*" },
        { "lone surrogate escape in a name", "{\"\\ud800\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}}", "*a string that is not valid Unicode*" },
        { "lone surrogate escape in metadata", "{\"__metadata__\": {\"k\": \"\\udc00x\"}, \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "*a string that is not valid Unicode*" },
        { "lone surrogate escape in a dtype", "{\"a\": {\"dtype\": \"\\ud800\", \"shape\": [], \"data_offsets\": [0, 4]}}", "*a string that is not valid Unicode*" },
        { "deep nesting", new string('[', 5000) + new string(']', 5000), "*not valid JSON*" },
        { "nesting inside an entry", "{\"a\": {\"dtype\": \"F32\", \"shape\": " + new string('[', 200) + new string(']', 200) + ", \"data_offsets\": [0, 4]}}", "*not valid JSON*" },
        { "offset beyond Int64", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 99999999999999999999]}}", "*data_offsets element 99999999999999999999, expected an integer*" },
        { "offset in exponent form", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4e0]}}", "*data_offsets element 4e0, expected an integer*" },
        { "offset as string", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\", \"4\"]}}", "*data_offsets element \"0\", expected an integer*" },
        { "dimension beyond Int32", "{\"a\": {\"dtype\": \"U8\", \"shape\": [4294967296], \"data_offsets\": [0, 4]}}", "*dimension 4294967296 in shape [4294967296], above 2147483647*" },
        { "element count overflow", "{\"a\": {\"dtype\": \"F64\", \"shape\": [2147483647, 2147483647, 2147483647], \"data_offsets\": [0, 4]}}", "*too many elements to address*" },
        { "byte count overflow", "{\"a\": {\"dtype\": \"F64\", \"shape\": [2147483647, 2147483647], \"data_offsets\": [0, 4]}}", "*[2147483647, 2147483647] of F64, too many bytes to address*" },
        { "empty tensor inside another", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [2, 2]}}", "*tensor 'e' [2, 2) overlaps tensor 'a' [0, 4)*" },
        { "null metadata value", "{\"__metadata__\": {\"k\": null}}", "*entry 'k' is a JSON null*" },
        { "null entry", "{\"a\": null}", "*tensor 'a' is a JSON null*" },
        { "trailing garbage", "{} x", "*not valid JSON*" },
        { "two objects", "{}{}", "*not valid JSON*" },
        { "NUL byte", "{\"a\u0000\": 1}", "*not valid JSON*" },
    };

    [Theory]
    [MemberData(nameof(OddHeaders))]
    public void Odd_headers_give_a_format_error(string what, string header, string message)
    {
        var bytes = Encoding.Latin1.GetBytes(header);
        string path = _folder.Craft(what.Replace(' ', '_') + ".safetensors", bytes, new byte[4]);
        var open = () => SafeTensorsFile.Open(path);
        open.Should().Throw<SafeTensorsFormatException>().WithMessage(path + ": " + message).Which.FilePath.Should().Be(path);
    }
}
