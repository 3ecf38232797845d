#!/usr/bin/env bash
# Hybrid ViT-S (vit_small_r26_s32_224) training end to end without real files: a generated CIFAR-10
# binary folder (random pixels, 16 training and 8 test images) resized to 224 px by the loader, a few
# steps from scratch, then the evaluation. The accuracy of random data is meaningless; it shows the
# backbone, the resize path and the FLOPs report (total 3.46 GMACs: backbone 2.34 + transformer 1.12).
# Usage: bash scripts/hybrid_demo.sh [OUT] [extra train options, e.g. --device cuda]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-runs/hybrid-demo}"
shift || true
mkdir -p "$out/cifar"
python3 - "$out/cifar" <<'PY'
import random, sys
random.seed(0)
for name, n in [("data_batch_%d.bin" % i, 16 if i == 1 else 1) for i in range(1, 6)] + [("test_batch.bin", 8)]:
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        for i in range(n):
            f.write(bytes([i % 10]) + bytes(random.randrange(256) for _ in range(3072)))
PY
./ilgpuvit train --model vit_small_r26_s32_224 --data cifar10 --data-dir "$out/cifar" --train-limit 16 --test-limit 8 \
    --batch-size 4 --epochs 1 --out "$out/run" --overwrite "$@"     # a demo: a second call replaces the first
