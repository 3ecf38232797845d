#!/usr/bin/env bash
# Per-step overhead of data parallelism on the peer training configuration (vit_micro_patch4_28, Fashion-MNIST,
# global batch 128; docs/distributed.md): 20 steps on 1 process, on 2 MPI ranks and on 2 in-process CPU accelerators
# (cpu:2), each timed from the metrics log between step 5 and step 20 (warm-up discarded), with rank 0's all-reduce time.
# Usage: benchmarks/allreduce/overhead.sh [OUT_DIR] [DEVICE]   (DEVICE of the 1-process and MPI runs; default cpu)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/runs/dp-overhead}"; device="${2:-cpu}"
flags=(--oversubscribe -np 2); [[ "$(id -u)" == 0 ]] && flags=(--allow-run-as-root "${flags[@]}")
run=(train --model vit_micro_patch4_28 --epochs 1 --train-limit 2560 --test-limit 64 --batch-size 128 --json --overwrite)
dotnet build "$root/src/IlgpuVit.Cli" -c Release -v quiet -nologo >/dev/null
"$root/ilgpuvit" "${run[@]}" --device "$device" --out "$out/one" >/dev/null
mpirun "${flags[@]}" "$root/ilgpuvit" "${run[@]}" --device "$device" --distributed mpi --out "$out/mpi" >/dev/null
"$root/ilgpuvit" "${run[@]}" --device cpu:2 --out "$out/inprocess" >/dev/null
python3 - "$out" <<'PY'
import json, sys, os
print(f"{'run':<10} {'ms/step':>8} {'img/s':>7} {'all-reduce ms/step':>19}")
for name in ["one", "mpi", "inprocess"]:
    folder = os.path.join(sys.argv[1], name)
    steps = [json.loads(l) for l in open(os.path.join(folder, "metrics.jsonl")) if '"event":"step"' in l]
    t = {s["step"]: s["seconds"] for s in steps}
    ms = (t[20] - t[5]) / 15 * 1e3
    summary = json.load(open(os.path.join(folder, "summary.json")))
    comm = summary.get("communicationSeconds", 0) / summary["steps"] * 1e3
    print(f"{name:<10} {ms:8.1f} {128 / ms * 1e3:7.0f} {comm:19.2f}")
PY
