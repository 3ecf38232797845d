#!/usr/bin/env bash
# The device check on a machine that may have no .NET: unpacks the bundle that scripts/bundle.sh
# built (or uses the one this script sits in), times the PyTorch peer on the same device first when
# python3 can import torch, then runs `ilgpuvit check`, which compares every kernel and a training
# step per reduction method with the CPU, times the device, and folds the peer's figures in as ratios.
# Writes OUT/check.json (and OUT/peer.json, OUT/check.log). Exit code: 0 passed, 2 a comparison failed.
# Usage: bash scripts/gpu-check.sh [--device cuda] [--quick] [--out DIR] [--bundle FILE.tar.xz]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
device=cuda quick=() out="" bundle=""
while [ $# -gt 0 ]; do
    case "$1" in
        --device) device="$2"; shift 2 ;;
        --quick) quick=(--quick); shift ;;
        --out) out="$2"; shift 2 ;;
        --bundle) bundle="$2"; shift 2 ;;
        *) echo "error: unknown option '$1'; use --device D, --quick, --out DIR, --bundle FILE" >&2; exit 1 ;;
    esac
done
out="${out:-${OUT:-gpu-check-out}}"
mkdir -p "$out"
# Inside an unpacked bundle the binary sits beside this script; in a checkout, unpack the bundle.
if [ -x "$here/bin/IlgpuVit.Cli" ]; then
    root="$here"
else
    bundle="${bundle:-$here/../artifacts/ilgpuvit-linux-x64.tar.xz}"
    if [ ! -f "$bundle" ]; then echo "error: no bundle at $bundle; build it with: bash scripts/bundle.sh" >&2; exit 1; fi
    unpack="$(mktemp -d)"
    tar -C "$unpack" -xJf "$bundle" || { echo "error: cannot unpack $bundle" >&2; exit 1; }
    root="$unpack/ilgpuvit"
fi
echo "bundle $(cat "$root/COMMIT" 2>/dev/null) on $(hostname), device $device, output $out"
peer=()
peer_device=$([ "$device" = cpu ] && echo cpu || echo cuda)
if command -v python3 >/dev/null && python3 -c "import torch" 2>/dev/null; then
    if timeout 240 python3 "$root/peers/torch_gpu.py" --device "$peer_device" "${quick[@]}" --json "$out/peer.json" 2>&1 | tee "$out/peer.log"; then
        peer=(--peer "$out/peer.json")
    else
        echo "note: the PyTorch peer failed (see $out/peer.log); the check runs without ratios"
    fi
else
    echo "note: python3 cannot import torch here; the check runs without the PyTorch peer"
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_gcServer=0
timeout 480 "$root/bin/IlgpuVit.Cli" check --device "$device" "${quick[@]}" "${peer[@]}" --json "$out/check.json" 2>&1 | tee "$out/check.log"
status=${PIPESTATUS[0]}
[ "$status" -eq 124 ] && echo "error: the check ran past 8 minutes" >&2
exit "$status"
