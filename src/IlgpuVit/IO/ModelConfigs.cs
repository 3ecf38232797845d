// Where a model's architecture comes from when weights are loaded (docs/models.md, "Configurations"): a
// registry name, a JSON configuration file, or the configuration a weights file carries in its safetensors
// metadata (key "model", the JSON of VitConfig, which TrainingCheckpoint writes). A JSON configuration may
// leave out what the tensor shapes give (timm names; torchvision's are mapped): image and patch size and
// channels (patch_embed.proj.weight, pos_embed), width, depth, MLP width, classes and the pooling (fc_norm).
// The head count cannot be inferred: qkv is (3C, C) for every H that divides C, so "heads" must be given.
// Keys match VitConfig's names in any case, with timm's spellings as aliases (img_size, num_heads, ...).

using System.Text.Json;
using System.Text.Json.Nodes;
using IlgpuVit.Nn;

namespace IlgpuVit.IO;

/// <summary>Resolves a model configuration from a name, a JSON file or a weights file's metadata.</summary>
public static class ModelConfigs
{
    /// <summary>The safetensors metadata key holding the model configuration (VitConfig's JSON).</summary>
    public const string MetadataKey = "model";

    /// <summary>The configuration fields tensor shapes cannot give: they must be in a JSON configuration.</summary>
    public static IReadOnlyList<string> NotInferable { get; } = ["heads"];

    /// <summary>Known keys (lower case, no underscores) and the VitConfig field each sets.</summary>
    private static readonly Dictionary<string, string> Keys = new()
    {
        ["name"] = "name", ["imagesize"] = "imageSize", ["imgsize"] = "imageSize", ["patchsize"] = "patchSize",
        ["inchannels"] = "inChannels", ["inchans"] = "inChannels", ["embeddim"] = "embedDim", ["depth"] = "depth",
        ["heads"] = "heads", ["numheads"] = "heads", ["mlpdim"] = "mlpDim", ["classes"] = "classes", ["numclasses"] = "classes",
        ["layernormeps"] = "layerNormEps", ["globalpool"] = "globalPool", ["backbone"] = "backbone", ["stem"] = "stem",
    };

    /// <summary>VitConfig's derived properties, which its JSON carries too: read past.</summary>
    private static readonly HashSet<string> Derived = ["backbonelayers", "patches", "tokens", "headdim"];

    /// <summary>
    /// The configuration <paramref name="arch"/> names for <paramref name="weights"/>: a registry name, a JSON file (a path
    /// ending in .json or an existing file), or, when null, the configuration in the file's metadata.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown, the JSON is invalid or lacks a field shapes cannot give, or the
    /// file carries no configuration and none was named.</exception>
    /// <exception cref="FileNotFoundException">The JSON file does not exist.</exception>
    public static VitConfig Resolve(string? arch, SafeTensorsFile weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (arch is null)
            return FromMetadata(weights) ?? throw new ArgumentException(
                $"{weights.Path} carries no model configuration (safetensors metadata \"{MetadataKey}\"): give --arch NAME " +
                $"({string.Join(", ", ModelRegistry.Names)}) or --arch CONFIG.json (the {string.Join(", ", NotInferable)} cannot be inferred from tensor shapes).");
        if (ModelRegistry.Names.Contains(arch)) return ModelRegistry.Get(arch);
        if (arch.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(arch))
        {
            if (!File.Exists(arch)) throw new FileNotFoundException($"Model configuration '{arch}' does not exist.", arch);
            return FromJson(File.ReadAllText(arch), weights, arch);
        }
        throw new ArgumentException($"Unknown model '{arch}': give one of {string.Join(", ", ModelRegistry.Names)}, or a JSON configuration file.");
    }

    /// <summary>The configuration in <paramref name="weights"/>' metadata, or null when it has none.</summary>
    /// <exception cref="ArgumentException">The metadata's configuration is malformed.</exception>
    public static VitConfig? FromMetadata(SafeTensorsFile weights) =>
        weights.Metadata.TryGetValue(MetadataKey, out var json) ? FromJson(json, null, $"{weights.Path} (metadata \"{MetadataKey}\")") : null;

    /// <summary>
    /// Parses a JSON configuration; fields it leaves out come from <paramref name="weights"/>' shapes when given
    /// (<see cref="NotInferable"/> never do). <paramref name="source"/> names it in errors.
    /// </summary>
    /// <exception cref="ArgumentException">The JSON is malformed, has an unknown key, or lacks a field.</exception>
    public static VitConfig FromJson(string json, SafeTensorsFile? weights, string source)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source}: not a model configuration ({e.Message}).");
        }
        var given = new Dictionary<string, JsonNode?>();
        foreach (var (key, value) in root)
        {
            string normal = key.Replace("_", "").ToLowerInvariant();
            if (Derived.Contains(normal)) continue;
            if (!Keys.TryGetValue(normal, out var field))
                throw new ArgumentException($"{source}: unknown key '{key}'. Known: {string.Join(", ", Keys.Values.Distinct())}.");
            given[field] = value;
        }
        var inferred = weights is null ? new Dictionary<string, object>() : Infer(weights, given.ContainsKey("backbone") && given["backbone"]?.ToString() is { Length: > 0 });
        T Field<T>(string name, object? fallback = null)
        {
            given.TryGetValue(name, out var node);
            try
            {
                if (node is not null) return node.GetValue<T>();
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw new ArgumentException($"{source}: '{name}' is {node!.ToJsonString()}, not a {(typeof(T) == typeof(string) ? "string" : "number")}.");
            }
            if (inferred.TryGetValue(name, out var value)) return (T)value;
            if (fallback is not null) return (T)fallback;
            string why = NotInferable.Contains(name)
                ? $"the {name} cannot be inferred from tensor shapes (qkv is (3C, C) for any head count)"
                : weights is null ? "no weights to infer it from" : $"{weights.Path} has no tensor that gives it";
            throw new ArgumentException($"{source}: the configuration lacks '{name}' ({why}); add it.");
        }
        var config = new VitConfig(Field<string>("name", Path.GetFileNameWithoutExtension(source)), Field<int>("imageSize"), Field<int>("patchSize"),
            Field<int>("inChannels"), Field<int>("embedDim"), Field<int>("depth"), Field<int>("heads"), Field<int>("mlpDim"), Field<int>("classes"),
            Field<float>("layerNormEps", 1e-6f), Field<string>("globalPool", "token"), Field<string>("backbone", ""), Field<string>("stem", "patch"));
        return config.Validate();
    }

    /// <summary>The class count of the file's head.weight (timm or torchvision name), or null without one.</summary>
    public static int? HeadClasses(SafeTensorsFile weights)
    {
        foreach (var (key, info) in weights.Tensors)
            if ((key == "head.weight" || TorchvisionNames.ToTimm(key) == "head.weight") && info.Shape.Length == 2) return info.Shape[0];
        return null;
    }

    /// <summary>The fields <paramref name="weights"/>' shapes give, timm names (torchvision's mapped).</summary>
    private static Dictionary<string, object> Infer(SafeTensorsFile weights, bool hybrid)
    {
        var shapes = new Dictionary<string, int[]>();
        foreach (var (key, info) in weights.Tensors) shapes[TorchvisionNames.ToTimm(key) ?? key] = info.Shape;
        var result = new Dictionary<string, object>();
        if (!hybrid && shapes.TryGetValue("patch_embed.proj.weight", out var patch) && patch.Length == 4)
        {
            result["embedDim"] = patch[0];
            result["inChannels"] = patch[1];
            result["patchSize"] = patch[2];
            if (shapes.TryGetValue("pos_embed", out var pos) && pos.Length == 3 && Math.Sqrt(pos[1] - 1) is var side && side == Math.Floor(side))
                result["imageSize"] = (int)side * patch[2];
        }
        if (shapes.TryGetValue("cls_token", out var cls) && cls.Length == 3) result["embedDim"] = cls[2];
        int depth = shapes.Keys.Select(k => k.StartsWith("blocks.", StringComparison.Ordinal) && int.TryParse(k.Split('.')[1], out int i) ? i + 1 : 0)
            .DefaultIfEmpty(0).Max();
        if (depth > 0) result["depth"] = depth;
        if (shapes.TryGetValue("blocks.0.mlp.fc1.weight", out var fc1) && fc1.Length == 2) result["mlpDim"] = fc1[0];
        if (shapes.TryGetValue("head.weight", out var head) && head.Length == 2) result["classes"] = head[0];
        result["globalPool"] = shapes.ContainsKey("fc_norm.weight") ? "avg" : "token";
        return result;
    }
}
