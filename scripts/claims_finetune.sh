#!/usr/bin/env bash
# Claim 1 under the paper's protocol (issue 17): trains the base model (configs/finetune-base.json) if
# it is missing, then the fine-tuning grid (configs/claims-finetune.json) from its checkpoint; both are
# resumable, so calling it again continues where it stopped. Results are copied to
# docs/results/claims-finetune/ (commit those; checkpoints stay in runs/, which git ignores).
# Extra arguments go to `ilgpuvit experiment` (e.g. --device cuda).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./ilgpuvit experiment configs/finetune-base.json "$@"
./ilgpuvit experiment configs/claims-finetune.json "$@"
mkdir -p docs/results/claims-finetune
for run in runs/claims-finetune/*/summary.json; do cp "$run" "docs/results/claims-finetune/$(basename "$(dirname "$run")")-summary.json"; done
cp runs/claims-finetune/results.md runs/claims-finetune/results.csv runs/claims-finetune/results.json runs/claims-finetune/*.png docs/results/claims-finetune/
cp runs/finetune-base/none-s0/summary.json docs/results/claims-finetune/base-summary.json
echo "wrote docs/results/claims-finetune/; commit it"
