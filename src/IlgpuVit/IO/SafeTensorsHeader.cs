// Parses and validates a safetensors JSON header against the data area it describes. The rules
// (https://github.com/huggingface/safetensors, docs/models.md): a JSON object whose
// optional "__metadata__" maps strings to strings and whose other keys map tensor names to
// {"dtype", "shape", "data_offsets": [begin, end)}; offsets count from the first data byte; the
// tensors, in any order, cover the data area exactly, with no overlap, gap or trailing byte.
// Zero-sized dimensions are allowed (an empty tensor occupies [x, x)); a shape [] is a scalar.
using System.Text.Json;
using System.Text.Unicode;

namespace IlgpuVit.IO;

/// <summary>A validated header: the metadata and every tensor's location.</summary>
internal sealed record SafeTensorsHeader(IReadOnlyDictionary<string, string> Metadata, IReadOnlyDictionary<string, SafeTensorInfo> Tensors)
{
    /// <summary>The header key that holds metadata rather than a tensor.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Largest header accepted, as in the reference implementation (100 MB).</summary>
    public const long MaxBytes = 100_000_000;

    /// <summary>Parses <paramref name="json"/> and checks it against a data area of <paramref name="dataLength"/> bytes.</summary>
    /// <exception cref="SafeTensorsFormatException">Any rule is broken; the message names <paramref name="path"/>.</exception>
    public static SafeTensorsHeader Parse(byte[] json, long dataLength, string path)
    {
        SafeTensorsFormatException Bad(string problem) => new(path, problem);

        if (!Utf8.IsValid(json))
            throw Bad("the header is not valid UTF-8.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw Bad($"the header is not valid JSON ({e.Message}).");
        }
        using (document)
        {
            try
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw Bad($"the header is a JSON {Describe(root.ValueKind)}, expected an object of tensor entries.");

                var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
                bool sawMetadata = false;
                foreach (var property in root.EnumerateObject())
                {
                    if (property.Name == MetadataKey)
                    {
                        if (sawMetadata) throw Bad($"\"{MetadataKey}\" appears twice in the header.");
                        sawMetadata = true;
                        ReadMetadata(property.Value, metadata, Bad);
                        continue;
                    }
                    if (tensors.ContainsKey(property.Name))
                        throw Bad($"tensor '{property.Name}' appears twice in the header.");
                    tensors.Add(property.Name, ReadEntry(property.Name, property.Value, dataLength, Bad));
                }
                CheckCoverage(tensors.Values, dataLength, Bad);
                return new SafeTensorsHeader(metadata, tensors);
            }
            catch (InvalidOperationException e)
            {
                // Valid UTF-8 can still escape a lone surrogate ("\ud800"), which System.Text.Json parses but cannot decode.
                throw Bad($"the header has a string that is not valid Unicode ({e.Message}).");
            }
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> into, Func<string, Exception> bad)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw bad($"\"{MetadataKey}\" is a JSON {Describe(value.ValueKind)}, expected an object mapping strings to strings.");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw bad($"\"{MetadataKey}\" entry '{item.Name}' is a JSON {Describe(item.Value.ValueKind)}; metadata values must be strings.");
            if (!into.TryAdd(item.Name, item.Value.GetString()!))
                throw bad($"\"{MetadataKey}\" entry '{item.Name}' appears twice.");
        }
    }

    private static SafeTensorInfo ReadEntry(string name, JsonElement entry, long dataLength, Func<string, Exception> bad)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw bad($"tensor '{name}' is a JSON {Describe(entry.ValueKind)}, expected an object with dtype, shape and data_offsets.");
        JsonElement Field(string field) => entry.TryGetProperty(field, out var v)
            ? v : throw bad($"tensor '{name}' has no \"{field}\".");

        var dtypeField = Field("dtype");
        if (dtypeField.ValueKind != JsonValueKind.String)
            throw bad($"tensor '{name}' has a dtype that is a JSON {Describe(dtypeField.ValueKind)}, expected a string such as \"F32\".");
        string dtypeName = dtypeField.GetString()!;
        if (!SafeTensorDTypes.TryParse(dtypeName, out var dtype))
            throw bad($"tensor '{name}' has unknown dtype \"{dtypeName}\" (known: {string.Join(", ", Enum.GetNames<SafeTensorDType>())}).");

        var shape = ReadIntegers(name, "shape", Field("shape"), bad, expectedCount: null);
        var dims = new int[shape.Length];
        long elements = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
                throw bad($"tensor '{name}' has a negative dimension {shape[i]} in shape [{string.Join(", ", shape)}].");
            if (shape[i] > int.MaxValue)
                throw bad($"tensor '{name}' has dimension {shape[i]} in shape [{string.Join(", ", shape)}], above {int.MaxValue}.");
            dims[i] = (int)shape[i];
            elements = elements > long.MaxValue / Math.Max(1, shape[i]) ? -1 : elements * shape[i];
            if (elements < 0)
                throw bad($"tensor '{name}' has shape [{string.Join(", ", shape)}], too many elements to address.");
        }

        var offsets = ReadIntegers(name, "data_offsets", Field("data_offsets"), bad, expectedCount: 2);
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin)
            throw bad($"tensor '{name}' has data_offsets [{begin}, {end}]; they must satisfy 0 <= begin <= end.");
        if (end > dataLength)
            throw bad($"tensor '{name}' has data_offsets [{begin}, {end}] outside the data area of {dataLength} bytes.");
        if (elements > long.MaxValue / dtype.ByteSize())
            throw bad($"tensor '{name}' has shape [{string.Join(", ", shape)}] of {dtypeName}, too many bytes to address.");
        long expectedBytes = elements * dtype.ByteSize();
        if (end - begin != expectedBytes)
            throw bad($"tensor '{name}' spans {end - begin} bytes, but shape [{string.Join(", ", shape)}] of {dtypeName} needs {elements} x {dtype.ByteSize()} = {expectedBytes}.");
        return new SafeTensorInfo(name, dtype, dims, begin, end - begin);
    }

    /// <summary>Reads a JSON array of integers (shape or data_offsets).</summary>
    private static long[] ReadIntegers(string name, string field, JsonElement value, Func<string, Exception> bad, int? expectedCount)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw bad($"tensor '{name}' has a {field} that is a JSON {Describe(value.ValueKind)}, expected an array of integers.");
        int count = value.GetArrayLength();
        if (expectedCount is int n && count != n)
            throw bad($"tensor '{name}' has {count} {field}, expected {n}.");
        var result = new long[count];
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out result[i]))
                throw bad($"tensor '{name}' has {field} element {item.GetRawText()}, expected an integer.");
            i++;
        }
        return result;
    }

    /// <summary>The tensors, sorted by offset, must tile [0, dataLength) exactly.</summary>
    private static void CheckCoverage(IEnumerable<SafeTensorInfo> tensors, long dataLength, Func<string, Exception> bad)
    {
        long covered = 0;
        SafeTensorInfo? previous = null;
        foreach (var t in tensors.OrderBy(t => t.Offset).ThenBy(t => t.ByteLength))
        {
            if (t.Offset < covered)
                throw bad($"tensor '{t.Name}' [{t.Offset}, {t.Offset + t.ByteLength}) overlaps tensor '{previous!.Name}' [{previous.Offset}, {covered}).");
            if (t.Offset > covered)
                throw bad($"bytes [{covered}, {t.Offset}) of the data area belong to no tensor (a gap before tensor '{t.Name}').");
            covered = t.Offset + t.ByteLength;
            previous = t;
        }
        if (covered != dataLength)
            throw bad($"the data area has {dataLength} bytes but the tensors cover only the first {covered} (trailing bytes).");
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
