#!/usr/bin/env bash
# Trains the 197-token model vit_micro_patch2_28 (28 px Fashion-MNIST, patch 2: 196 patches + CLS;
# docs/models.md) unpruned to its plateau and runs the inference-only grid of claims 2-4 on it: the
# experiment configs/claims-197.json, whose baseline run is that training (the project's Fashion-MNIST
# recipe, 16 epochs). Resumable: called again, it skips what finished and continues the run under way
# from its checkpoint. Cost on the 2-core CPU machine: docs/results/claims-197/README.md.
# Its summary.json and the result tables are copied to docs/results/claims-197/ (commit those); the
# checkpoint stays in runs/claims-197/none-s0/ (runs/ is ignored by git).
# Extra arguments go to `ilgpuvit experiment` (e.g. --device cuda).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./ilgpuvit experiment configs/claims-197.json "$@"
mkdir -p docs/results/claims-197
cp runs/claims-197/none-s0/summary.json docs/results/claims-197/none-s0-summary.json
cp runs/claims-197/results.md runs/claims-197/results.csv runs/claims-197/results.json runs/claims-197/*.png docs/results/claims-197/
echo "wrote docs/results/claims-197/; commit it"
