#!/usr/bin/python3
"""The PyTorch peer of `ilgpuvit check`: the same timed shapes on the same device, in the same
script run (scripts/gpu-check.sh runs this first), so every device figure becomes a ratio.
fp32 throughout, TF32 off for matmul and convolutions. Models are timm's when timm imports, else
plain torch modules of identical shapes (the micro model of the quick run is always plain).

    python3 benchmarks/peers/torch_gpu.py [--device cuda|cpu] [--quick] [--json PATH]

The shapes must match src/IlgpuVit.Experiments/Devices/DeviceTimings.cs."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# name: (image, patch, channels in, width, depth, heads, mlp, classes), as src/IlgpuVit/Nn/VitConfig.cs.
CONFIGS = {
    "vit_micro_patch4_28": (28, 4, 1, 64, 6, 4, 256, 10),
    "vit_small_patch16_224": (224, 16, 3, 384, 12, 6, 1536, 1000),
    "vit_base_patch16_224": (224, 16, 3, 768, 12, 12, 3072, 1000),
    "vit_large_patch16_224": (224, 16, 3, 1024, 24, 16, 4096, 1000),
}


class Block(nn.Module):
    def __init__(self, width, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width, eps=1e-6), nn.LayerNorm(width, eps=1e-6)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.fc1, self.fc2 = nn.Linear(width, mlp), nn.Linear(mlp, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5).softmax(dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, t, c))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class PlainVit(nn.Module):
    """timm's VisionTransformer with class token, learned position embedding and pre-norm blocks."""

    def __init__(self, image, patch, cin, width, depth, heads, mlp, classes):
        super().__init__()
        self.patch_embed = nn.Conv2d(cin, width, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, width) * 0.02)
        self.blocks = nn.Sequential(*[Block(width, heads, mlp) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(width, eps=1e-6), nn.Linear(width, classes)

    def forward(self, images):
        x = self.patch_embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


def build(name, device):
    config = CONFIGS[name]
    try:
        import timm
        if name in timm.list_models():
            return timm.create_model(name, pretrained=False).to(device), "timm", config
    except ImportError:
        pass
    return PlainVit(*config).to(device), "plain", config


def median_ms(run, device, runs):
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(2):
        run()
    sync()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        sync()
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    return samples[len(samples) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    runs = 3 if args.quick else 10
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "torch": torch.__version__,
              "gemm": [], "inference": [], "trainStep": None}

    gemms = [(256, 256, 256)] if args.quick else [(1024, 1024, 1024), (4096, 4096, 4096), (12608, 3072, 1024), (12608, 1024, 1024),
                                                  (12608, 4096, 1024), (12608, 1024, 4096)]
    for m, n, k in gemms:
        a, b = torch.rand(m, k, device=device) * 2 - 1, torch.rand(k, n, device=device) * 2 - 1
        ms = median_ms(lambda: a @ b, device, runs)
        report["gemm"].append({"m": m, "n": n, "k": k, "medianMs": ms, "gflops": 2 * m * n * k / ms / 1e6})
        print(f"torch gemm {m}x{n}x{k}: {ms:.3f} ms, {2 * m * n * k / ms / 1e6:.0f} GFLOP/s", flush=True)

    batch = 8 if args.quick else 64
    for name in ["vit_micro_patch4_28"] if args.quick else ["vit_small_patch16_224", "vit_base_patch16_224", "vit_large_patch16_224"]:
        model, source, (image, _, cin, *_) = build(name, device)
        model.eval()
        images = torch.rand(batch, cin, image, image, device=device) * 2 - 1
        with torch.no_grad():
            ms = median_ms(lambda: model(images), device, max(runs, 10))
        report["inference"].append({"model": name, "batch": batch, "source": source, "medianMs": ms, "imagesPerSecond": batch / ms * 1e3})
        print(f"torch {name} ({source}) batch {batch}: {ms:.1f} ms, {batch / ms * 1e3:.0f} images/s", flush=True)
        del model

    name = "vit_micro_patch4_28" if args.quick else "vit_small_patch16_224"
    model, source, (image, _, cin, *_, classes) = build(name, device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    images = torch.rand(batch, cin, image, image, device=device) * 2 - 1
    labels = torch.randint(0, classes, (batch,), device=device)

    def step():
        optimizer.zero_grad(set_to_none=False)
        F.cross_entropy(model(images), labels, label_smoothing=0.1).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    ms = median_ms(step, device, runs)
    report["trainStep"] = {"model": name, "batch": batch, "source": source, "medianMs": ms, "imagesPerSecond": batch / ms * 1e3}
    print(f"torch train step {name} ({source}) batch {batch}: {ms:.1f} ms", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
