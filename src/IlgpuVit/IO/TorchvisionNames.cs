// torchvision's VisionTransformer names its parameters differently from timm (docs/models.md); this maps
// them onto the timm names the models here use, so torchvision weights load like timm weights.
//   conv_proj -> patch_embed.proj, class_token -> cls_token, encoder.pos_embedding -> pos_embed,
//   encoder.layers.encoder_layer_{i}.{ln_1, self_attention.in_proj_*, self_attention.out_proj, ln_2,
//   mlp.0, mlp.3} -> blocks.{i}.{norm1, attn.qkv.*, attn.proj, norm2, mlp.fc1, mlp.fc2},
//   encoder.ln -> norm, heads.head -> head. (mlp.0/mlp.3 is torchvision 0.14's spelling; newer
//   releases read mlp.linear_1/linear_2, mapped the same way.)

using System.Text.RegularExpressions;

namespace IlgpuVit.IO;

/// <summary>Maps torchvision ViT parameter names to timm's.</summary>
public static partial class TorchvisionNames
{
    private static readonly (string From, string To)[] Fixed =
    [
        ("conv_proj.", "patch_embed.proj."), ("class_token", "cls_token"), ("encoder.pos_embedding", "pos_embed"),
        ("encoder.ln.", "norm."), ("heads.head.", "head."),
    ];

    private static readonly (string From, string To)[] InBlock =
    [
        ("ln_1.", "norm1."), ("self_attention.in_proj_weight", "attn.qkv.weight"), ("self_attention.in_proj_bias", "attn.qkv.bias"),
        ("self_attention.out_proj.", "attn.proj."), ("ln_2.", "norm2."),
        ("mlp.0.", "mlp.fc1."), ("mlp.3.", "mlp.fc2."), ("mlp.linear_1.", "mlp.fc1."), ("mlp.linear_2.", "mlp.fc2."),
    ];

    /// <summary>The timm name of torchvision parameter <paramref name="name"/>, or null if it is not a ViT parameter name.</summary>
    public static string? ToTimm(string name)
    {
        foreach (var (from, to) in Fixed)
            if (name.StartsWith(from, StringComparison.Ordinal)) return to + name[from.Length..];
        var m = LayerName().Match(name);
        if (!m.Success) return null;
        foreach (var (from, to) in InBlock)
            if (m.Groups[2].Value.StartsWith(from, StringComparison.Ordinal))
                return $"blocks.{m.Groups[1].Value}.{to}{m.Groups[2].Value[from.Length..]}";
        return null;
    }

    [GeneratedRegex(@"^encoder\.layers\.encoder_layer_(\d+)\.(.+)$")]
    private static partial Regex LayerName();
}
