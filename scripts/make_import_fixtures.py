#!/usr/bin/python3
"""Writes the oracles of the weight importer (src/IlgpuVit/IO/WeightImporter.cs) into tests/IlgpuVit.Tests/Fixtures:

  timm_vit.safetensors          a small timm-layout ViT's state dict and nothing else (timm's key names, F32),
                                so a strict import must accept it as it is.
  import_reference.safetensors  position-embedding resampling cases and the model's reference logits:
      resample.source [1, 197, 24]   random pos_embed (CLS + 14x14 grid)
      resample.to_16x16 [1, 257, 24], resample.to_10x12 [1, 121, 24]
      upsample.source [1, 50, 5]     CLS + 7x7 grid, 5 channels
      upsample.to_12x12 [1, 145, 5]
      input_16 [3, 3, 16, 16], logits_16 [3, 7]   the model at its own size (4x4 patch grid)
      input_24 [3, 3, 24, 24], logits_24 [3, 7]   the same weights at 24 px: pos_embed resampled 4x4 -> 6x6

Conventions: every random value is drawn in float64 and rounded to float32 first, and every reference is then
computed in float64 from the rounded values, so the C# side, which reads the F32 values, starts from exactly
what torch used. Resampling is timm's resample_abs_pos_embed (timm/layers/pos_embed.py): keep the prefix (CLS)
rows, reshape the grid rows to (1, C, H, W), F.interpolate(size, mode='bicubic', align_corners=False,
antialias=False), back to rows. The ViT is written here by hand after timm's VisionTransformer
(timm/models/vision_transformer.py): patch_embed.proj conv, cls_token, pos_embed over CLS and patches, pre-norm
blocks (LayerNorm eps 1e-6, one qkv Linear, exact GELU), final norm, head on the CLS token.

Run: /usr/bin/python3 scripts/make_import_fixtures.py   (Debian's torch 1.13; no timm needed)
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_fixtures import write_safetensors  # noqa: E402  (the hand-written safetensors writer)

CONFIG = dict(image_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=4, mlp_dim=64, num_classes=7)
RESAMPLED_IMAGE_SIZE = 24
BATCH = 3
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "IlgpuVit.Tests", "Fixtures")


def rounded(t):
    """float64 values that are exactly representable in float32."""
    return t.to(torch.float32).to(torch.float64)


def resample_abs_pos_embed(posemb, new_size, old_size, num_prefix_tokens=1):
    """timm.layers.resample_abs_pos_embed with interpolation='bicubic', antialias=False."""
    prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    channels = grid.shape[-1]
    grid = grid.reshape(1, old_size[0], old_size[1], channels).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_size, mode="bicubic", align_corners=False, antialias=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, channels)
    return torch.cat([prefix, grid], dim=1)


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)   # (B, C, h, w) -> (B, h*w, C), row-major patches


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)   # rows: all of q, then k, then v
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        attn = ((q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))   # exact (erf) GELU


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_dim, num_classes):
        super().__init__()
        grid = image_size // patch_size
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, embed_dim))
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, images):
        x = self.patch_embed(images)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


def build_model():
    torch.manual_seed(0)
    model = VisionTransformer(**CONFIG).double().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            layernorm_weight = ("norm" in name) and name.endswith(".weight")
            p.copy_(rounded(1.0 + 0.1 * torch.randn_like(p) if layernorm_weight else 0.2 * torch.randn_like(p)))
    return model


def resampling_cases():
    torch.manual_seed(2)
    source = rounded(torch.randn(1, 1 + 14 * 14, 24, dtype=torch.float64))
    small = rounded(torch.randn(1, 1 + 7 * 7, 5, dtype=torch.float64))
    return [
        ("resample.source", source),
        ("resample.to_16x16", resample_abs_pos_embed(source, (16, 16), (14, 14))),
        ("resample.to_10x12", resample_abs_pos_embed(source, (10, 12), (14, 14))),
        ("upsample.source", small),
        ("upsample.to_12x12", resample_abs_pos_embed(small, (12, 12), (7, 7))),
    ]


def main():
    f32 = lambda t: t.detach().to(torch.float32).numpy()
    model = build_model()
    state = model.state_dict()
    print("timm-layout state dict:")
    for name, value in state.items():
        print("  %-28s %s" % (name, list(value.shape)))
    metadata = {key: str(value) for key, value in CONFIG.items()}
    metadata.update(torch=torch.__version__, layout="timm VisionTransformer, global_pool='token'")
    weights = [(name, f32(value)) for name, value in state.items()]
    weights.reverse()   # data order unlike key order
    write_safetensors(os.path.join(FIXTURES, "timm_vit.safetensors"), weights, metadata)

    torch.manual_seed(1)
    with torch.no_grad():
        input_16 = rounded(torch.randn(BATCH, 3, 16, 16, dtype=torch.float64))
        input_24 = rounded(torch.randn(BATCH, 3, RESAMPLED_IMAGE_SIZE, RESAMPLED_IMAGE_SIZE, dtype=torch.float64))
        logits_16 = model(input_16)
        grid, new_grid = CONFIG["image_size"] // CONFIG["patch_size"], RESAMPLED_IMAGE_SIZE // CONFIG["patch_size"]
        model.pos_embed = nn.Parameter(resample_abs_pos_embed(model.pos_embed, (new_grid, new_grid), (grid, grid)))
        logits_24 = model(input_24)
        reference = resampling_cases() + [("input_16", input_16), ("logits_16", logits_16),
                                          ("input_24", input_24), ("logits_24", logits_24)]
    write_safetensors(os.path.join(FIXTURES, "import_reference.safetensors"), [(n, f32(t)) for n, t in reference],
                      dict(torch=torch.__version__, dtype="computed in float64 from float32-exact values, stored as float32",
                           resampled_image_size=str(RESAMPLED_IMAGE_SIZE)))
    print("logits_16[0] %s" % logits_16[0].numpy())
    print("logits_24[0] %s" % logits_24[0].numpy())
    for name in ("timm_vit.safetensors", "import_reference.safetensors"):
        path = os.path.join(FIXTURES, name)
        print("wrote %s (%d bytes)" % (os.path.normpath(path), os.path.getsize(path)))


if __name__ == "__main__":
    main()
