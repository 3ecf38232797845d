#!/usr/bin/env bash
# The pretrained-evaluation path end to end without real files: generated ViT-S weights (timm names,
# random) and a generated ImageNet-layout folder with one corrupt image (scripts/make_eval_demo.py), then
# `ilgpuvit eval --compare` with the paper's ViT-L comparison specs (Top-K + VPA against ToMe). The
# accuracies of random weights are meaningless; GMACs, latency and the skipped count are real.
# Usage: bash scripts/eval_demo.sh [OUT] [extra eval options, e.g. --device cuda]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-runs/eval-demo}"
shift || true
[ -f "$out/vit_small_patch16_224.safetensors" ] || python3 scripts/make_eval_demo.py "$out" --classes 4 --images 2
./ilgpuvit eval --weights "$out/vit_small_patch16_224.safetensors" --arch vit_small_patch16_224 --data "$out/val" \
    --compare "topk-vpa:rate=0.06;tome:r=8" --batch 4 --latency-runs 5 "$@"
