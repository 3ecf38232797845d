#!/usr/bin/python3
"""Writes the oracle of the Hybrid ViT-S parity test (tests/IlgpuVit.Tests/IO/HybridParityTests.cs) into
tests/IlgpuVit.Tests/Fixtures/hybrid_reference.safetensors.

The model is a small timm vit_small_r26_s32_224 (docs/models.md "Hybrid ViT-S"), written here by hand after timm's
resnetv2.py (ResNetV2 with preact=False, stem_type='same', conv_layer=StdConv2dSame(eps=1e-8), GroupNormAct(32))
and vision_transformer_hybrid.py (HybridEmbed: backbone.forward_features, 1x1 proj with bias, feature pixels as
tokens in row-major order), then timm's VisionTransformer trunk (CLS, pos_embed, pre-norm blocks, LayerNorm eps
1e-6, exact GELU, final norm, head on CLS). CONFIG: 64 px, backbone layers 1,1,1,1 (widths 256/512/1024/2048, as
timm), trunk width 64, depth 2, 2 heads, MLP 128, 5 classes.

Why the weights are not in the file: even one block per stage gives the backbone 7.8M parameters (31 MB as F32),
so every parameter is drawn instead from a counter-based generator that the test re-implements
(GeneratedWeights.cs): for a tensor named NAME with n elements,
    seed = FNV-1a 64 of NAME's UTF-8 bytes
    z_i  = splitmix64(seed + (i + 1) * 0x9E3779B97F4A7C15), i = 0 .. n-1
    u_i  = (z_i >> 40) / 2^24                      (exact in float64, in [0, 1))
    w_i  = float32(center + scale * (2 u_i - 1))   (computed in float64, rounded to nearest float32)
The file holds, besides the reference:
  __metadata__["weights"]  JSON [[name, shape, center, scale], ...] in the torch state dict's order and with its
                           timm key names and shapes (the test writes these tensors and imports them strictly)
  check.<name>             a few generated tensors as stored values, so the generator is checked bit for bit
  input [3, 3, 64, 64]     images; tokens [3, 4, 64] the embedding's output (patch_embed); logits [3, 5]
References are computed in float64 from the float32-exact weights and images, stored as float32.

Run: /usr/bin/python3 scripts/make_hybrid_fixtures.py   (Debian's torch 1.13; no timm needed)
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_fixtures import write_safetensors  # noqa: E402  (the hand-written safetensors writer)
from make_import_fixtures import Block  # noqa: E402  (the timm-layout pre-norm ViT block, shared with the plain ViT fixture)

CONFIG = dict(image_size=64, in_chans=3, layers=(1, 1, 1, 1), embed_dim=64, depth=2, num_heads=2, mlp_dim=128,
              num_classes=5)
STAGE_WIDTHS = (256, 512, 1024, 2048)
STEM_WIDTH = 64
BATCH = 3
CHECKED = ("patch_embed.backbone.stem.conv.weight", "patch_embed.backbone.stages.1.blocks.0.norm2.weight",
           "pos_embed", "head.weight")
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "IlgpuVit.Tests", "Fixtures",
                       "hybrid_reference.safetensors")

MASK64 = (1 << 64) - 1


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def generated(name, count, center, scale):
    """The generator of the module docstring: float32 values as a float64 array."""
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(name)) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) / 16777216.0
    return (center + scale * (2.0 * u - 1.0)).astype(np.float32).astype(np.float64)


def law(name, shape):
    """(center, scale) of a parameter: norm weights 1 +/- 0.1 (never zero), biases +/- 0.1, convolutions +/- 1 (the
    standardisation rescales them), Linear and 1x1-proj weights unit-gain uniform over their fan-in."""
    leaf = name.rsplit(".", 1)[-1]
    if "norm" in name and leaf == "weight":
        return 1.0, 0.1
    if leaf == "bias":
        return 0.0, 0.1
    if name.startswith("patch_embed.backbone."):
        return 0.0, 1.0
    if name in ("cls_token", "pos_embed"):
        return 0.0, 0.5
    fan_in = int(np.prod(shape[1:]))
    return 0.0, math.sqrt(3.0 / fan_in)


def pad_same(x, kernel, stride, value=0.0):
    """timm.layers.padding.pad_same: TF SAME, the odd pixel at the bottom/right."""
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / stride) - 1) * stride + kernel - ih, 0)
    pw = max((math.ceil(iw / stride) - 1) * stride + kernel - iw, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], value=value)


class StdConv2dSame(nn.Conv2d):
    """timm.layers.std_conv.StdConv2dSame, eps 1e-8 as the hybrid builds it."""

    def __init__(self, cin, cout, kernel, stride=1, eps=1e-8):
        super().__init__(cin, cout, kernel, stride=stride, padding=0, bias=False)
        self.eps = eps

    def forward(self, x):
        x = pad_same(x, self.kernel_size[0], self.stride[0])
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True, momentum=0.,
                              eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, weight, None, self.stride)


class GroupNormAct(nn.GroupNorm):
    """timm.layers.norm_act.GroupNormAct: GroupNorm(32, eps 1e-5) [+ ReLU]."""

    def __init__(self, channels, act=True):
        super().__init__(32, channels, eps=1e-5)
        self.act = act

    def forward(self, x):
        x = F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
        return F.relu(x) if self.act else x


class DownsampleConv(nn.Module):
    """timm resnetv2.DownsampleConv with preact=False: 1x1 conv with the stride, then GN without activation."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = StdConv2dSame(cin, cout, 1, stride)
        self.norm = GroupNormAct(cout, act=False)

    def forward(self, x):
        return self.norm(self.conv(x))


class Bottleneck(nn.Module):
    """timm resnetv2.Bottleneck (non-pre-activation), bottle ratio 0.25."""

    def __init__(self, cin, cout, stride, downsample):
        super().__init__()
        mid = cout // 4
        self.downsample = DownsampleConv(cin, cout, stride) if downsample else None
        self.conv1 = StdConv2dSame(cin, mid, 1)
        self.norm1 = GroupNormAct(mid)
        self.conv2 = StdConv2dSame(mid, mid, 3, stride)
        self.norm2 = GroupNormAct(mid)
        self.conv3 = StdConv2dSame(mid, cout, 1)
        self.norm3 = GroupNormAct(cout, act=False)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.norm1(self.conv1(x))
        x = self.norm2(self.conv2(x))
        x = self.norm3(self.conv3(x))
        return F.relu(x + shortcut)


class Stage(nn.Module):
    def __init__(self, cin, cout, stride, depth):
        super().__init__()
        self.blocks = nn.Sequential(*[Bottleneck(cin if b == 0 else cout, cout, stride if b == 0 else 1, b == 0)
                                      for b in range(depth)])

    def forward(self, x):
        return self.blocks(x)


class Stem(nn.Module):
    """timm create_resnetv2_stem(stem_type='same', preact=False): conv 7x7/2, GN + ReLU, MaxPool2dSame 3x3/2 (-inf)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = StdConv2dSame(cin, cout, 7, 2)
        self.norm = GroupNormAct(cout)

    def forward(self, x):
        x = pad_same(self.norm(self.conv(x)), 3, 2, value=float("-inf"))
        return F.max_pool2d(x, 3, 2)


class ResNetV2(nn.Module):
    """The backbone's forward_features; with preact=False its final norm is the identity and has no parameters."""

    def __init__(self, in_chans, layers):
        super().__init__()
        self.stem = Stem(in_chans, STEM_WIDTH)
        cins = (STEM_WIDTH,) + STAGE_WIDTHS[:-1]
        self.stages = nn.Sequential(*[Stage(cin, cout, 1 if s == 0 else 2, depth)
                                      for s, (cin, cout, depth) in enumerate(zip(cins, STAGE_WIDTHS, layers))])

    def forward(self, x):
        return self.stages(self.stem(x))


class HybridEmbed(nn.Module):
    """timm vision_transformer_hybrid.HybridEmbed with patch_size 1: (B, 2048, h, w) -> 1x1 proj -> (B, h*w, C)."""

    def __init__(self, in_chans, layers, dim):
        super().__init__()
        self.backbone = ResNetV2(in_chans, layers)
        self.proj = nn.Conv2d(STAGE_WIDTHS[-1], dim, kernel_size=1, stride=1, bias=True)

    def forward(self, x):
        return self.proj(self.backbone(x)).flatten(2).transpose(1, 2)


class HybridVisionTransformer(nn.Module):
    def __init__(self, image_size, in_chans, layers, embed_dim, depth, num_heads, mlp_dim, num_classes):
        super().__init__()
        grid = image_size // 32
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, embed_dim))
        self.patch_embed = HybridEmbed(in_chans, layers, embed_dim)
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, images):
        tokens = self.patch_embed(images)
        x = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return tokens, self.head(self.norm(x)[:, 0])


def main():
    f32 = lambda t: np.ascontiguousarray(t.detach().to(torch.float32).numpy())
    model = HybridVisionTransformer(**CONFIG).double().eval()
    manifest, stored = [], {}
    with torch.no_grad():
        for name, p in model.state_dict().items():
            center, scale = law(name, list(p.shape))
            values = generated(name, p.numel(), center, scale)
            p.copy_(torch.from_numpy(values).reshape(p.shape))
            manifest.append([name, list(p.shape), center, scale])
            stored[name] = values.reshape(p.shape)
        # Images in [-2, 2] as normalised pixels would be, from the same generator.
        images = torch.from_numpy(generated("input", BATCH * 3 * 64 * 64, 0.0, 2.0)).reshape(BATCH, 3, 64, 64)
        tokens, logits = model(images)
    parameters = sum(p.numel() for p in model.parameters())
    print("%d tensors, %d parameters (%.1f MB as F32)" % (len(manifest), parameters, parameters * 4 / 1e6))
    tensors = [("check." + name, stored[name].astype(np.float32)) for name in CHECKED]
    tensors += [("input", f32(images)), ("tokens", f32(tokens)), ("logits", f32(logits))]
    metadata = {key: str(value) for key, value in CONFIG.items()}
    metadata.update(torch=torch.__version__, weights=json.dumps(manifest, separators=(",", ":")),
                    layout="timm vit_small_r26_s32_224 layout (VisionTransformer + HybridEmbed + ResNetV2)",
                    dtype="computed in float64 from float32-exact values, stored as float32")
    write_safetensors(FIXTURE, tensors, metadata)
    print("logits[0] %s" % logits[0].numpy())
    print("wrote %s (%d bytes)" % (os.path.normpath(FIXTURE), os.path.getsize(FIXTURE)))


if __name__ == "__main__":
    main()
