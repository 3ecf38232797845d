#!/usr/bin/python3
"""Writes stand-ins for the real files of `ilgpuvit eval --weights` (issue 6): no ImageNet or pretrained weights
can be fetched on the project's machines, so this makes

  OUT/<arch>.safetensors   random weights of a timm ViT under timm's state-dict names (F32; weights N(0, 0.02),
                           LayerNorm weight 1 and bias 0, as timm initialises), e.g. vit_small_patch16_224;
  OUT/val/n0000000k/*.png  an ImageNet-layout folder: CLASSES class folders of IMAGES PNGs each, of varied sizes,
                           plus one corrupt file (val/n00000000/zz_corrupt.png) that the evaluation must count.

Standard library only (struct, zlib, random), so it runs wherever python3 does. Seeded: the same files every run.
Names and shapes follow timm/models/vision_transformer.py (patch_embed.proj, cls_token, pos_embed, blocks.i.norm1,
attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2, norm, head); docs/models.md has the table.

Run: python3 scripts/make_eval_demo.py OUT [--arch vit_small_patch16_224] [--classes 5] [--images 4]
"""
import argparse
import array
import json
import os
import random
import struct
import zlib

# name: (image size, patch, embed dim, depth, MLP width) — heads do not change any tensor's shape.
ARCHS = {
    "vit_tiny_patch16_224": (224, 16, 192, 12, 768),
    "vit_small_patch16_224": (224, 16, 384, 12, 1536),
    "vit_base_patch16_224": (224, 16, 768, 12, 3072),
    "vit_large_patch16_224": (224, 16, 1024, 24, 4096),
    "vit_micro_patch4_32": (32, 4, 64, 6, 256),
}


def timm_shapes(arch, classes):
    size, patch, dim, depth, mlp = ARCHS[arch]
    tokens = (size // patch) ** 2 + 1
    shapes = {
        "patch_embed.proj.weight": [dim, 3, patch, patch], "patch_embed.proj.bias": [dim],
        "cls_token": [1, 1, dim], "pos_embed": [1, tokens, dim],
        "norm.weight": [dim], "norm.bias": [dim], "head.weight": [classes, dim], "head.bias": [classes],
    }
    for i in range(depth):
        b = f"blocks.{i}."
        shapes.update({
            b + "norm1.weight": [dim], b + "norm1.bias": [dim], b + "norm2.weight": [dim], b + "norm2.bias": [dim],
            b + "attn.qkv.weight": [3 * dim, dim], b + "attn.qkv.bias": [3 * dim],
            b + "attn.proj.weight": [dim, dim], b + "attn.proj.bias": [dim],
            b + "mlp.fc1.weight": [mlp, dim], b + "mlp.fc1.bias": [mlp],
            b + "mlp.fc2.weight": [dim, mlp], b + "mlp.fc2.bias": [dim],
        })
    return shapes


def values(name, count, rng):
    if name.endswith(".bias"):
        return array.array("f", bytes(4 * count))
    if "norm" in name:     # LayerNorm weight
        return array.array("f", [1.0]) * count
    return array.array("f", (rng.gauss(0.0, 0.02) for _ in range(count)))


def write_safetensors(path, shapes, rng):
    """safetensors: 8-byte little-endian header length, JSON header, then the tensors back to back."""
    header, offset = {}, 0
    names = sorted(shapes)
    for name in names:
        count = 1
        for d in shapes[name]:
            count *= d
        header[name] = {"dtype": "F32", "shape": shapes[name], "data_offsets": [offset, offset + 4 * count]}
        offset += 4 * count
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in names:
            start, end = header[name]["data_offsets"]
            data = values(name, (end - start) // 4, rng)
            if struct.pack("=f", 1.0) != struct.pack("<f", 1.0):
                data.byteswap()
            f.write(data.tobytes())


def write_png(path, width, height, pixel):
    """An 8-bit RGB PNG (filter 0 on every row) of pixel(x, y) -> (r, g, b)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows.extend(pixel(x, y))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(bytes(rows), 6)))
        f.write(chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--arch", default="vit_small_patch16_224", choices=sorted(ARCHS))
    parser.add_argument("--classes", type=int, default=5, help="class folders (the head keeps 1000 classes for the 224 px models)")
    parser.add_argument("--images", type=int, default=4, help="images per class")
    args = parser.parse_args()
    rng = random.Random(0)
    os.makedirs(args.out, exist_ok=True)
    head = 10 if args.arch == "vit_micro_patch4_32" else 1000
    weights = os.path.join(args.out, args.arch + ".safetensors")
    write_safetensors(weights, timm_shapes(args.arch, head), rng)
    for c in range(args.classes):
        folder = os.path.join(args.out, "val", f"n{c:08d}")
        os.makedirs(folder, exist_ok=True)
        for i in range(args.images):
            w, h = 200 + 37 * ((c + i) % 5), 180 + 29 * ((c * 3 + i) % 4)
            seed = c * 31 + i
            write_png(os.path.join(folder, f"img_{i:03d}.png"), w, h,
                      lambda x, y, s=seed: ((x * 3 + s * 7) & 255, (y * 5 + s * 11) & 255, ((x ^ y) + s * 13) & 255))
    with open(os.path.join(args.out, "val", "n00000000", "zz_corrupt.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\nthis file is truncated")
    print(f"wrote {weights} and {args.classes} x {args.images} images (+1 corrupt) under {os.path.join(args.out, 'val')}")


if __name__ == "__main__":
    main()
