#!/usr/bin/env bash
# Sets up what is missing (Fashion-MNIST included), then runs the main job: train the default small
# ViT on Fashion-MNIST (about 15 minutes on 2 CPU cores, 25 on the slower host kind; live progress, a checkpoint per epoch) and
# evaluate its checkpoint on the test set. Extra arguments go to `ilgpuvit train` (e.g. --device cuda).
# Called again, it continues the quick-start run from its checkpoint (a finished one is evaluated
# again); a start that stopped before its first checkpoint is replaced.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
./ilgpuvit info
if [ -e runs/quickstart/checkpoint.safetensors ]; then
    ./ilgpuvit train --resume runs/quickstart/checkpoint.safetensors "$@"
else
    ./ilgpuvit train --out runs/quickstart --overwrite "$@"
fi
./ilgpuvit eval --checkpoint runs/quickstart/checkpoint.safetensors
