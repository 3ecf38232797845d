#!/usr/bin/env bash
# Builds the device-check bundle: the `ilgpuvit` command published self-contained for linux-x64 (the
# .NET runtime inside, so the target needs no .NET), with scripts/gpu-check.sh and the PyTorch peer,
# packed as artifacts/ilgpuvit-linux-x64.tar.xz (kept out of git; at most 55 MiB, checked here).
# Untrimmed: trimming breaks ILGPU's kernel compiler; invariant globalization, so no ICU is needed on the target
# (docs/device-check.md).
# Usage: bash scripts/bundle.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stage=artifacts/bundle
rm -rf "$stage" && mkdir -p "$stage/ilgpuvit/bin"
dotnet publish src/IlgpuVit.Cli -c Release -r linux-x64 --self-contained -p:PublishTrimmed=false -p:DebugType=none \
    -p:GenerateDocumentationFile=false -p:InvariantGlobalization=true --nologo -v quiet -o "$stage/ilgpuvit/bin"
cp scripts/gpu-check.sh "$stage/ilgpuvit/"
mkdir -p "$stage/ilgpuvit/peers" && cp benchmarks/peers/torch_gpu.py "$stage/ilgpuvit/peers/"
git rev-parse --short HEAD > "$stage/ilgpuvit/COMMIT" 2>/dev/null || echo unknown > "$stage/ilgpuvit/COMMIT"
tar -C "$stage" -cf - ilgpuvit | xz -T0 -6 > artifacts/ilgpuvit-linux-x64.tar.xz
bytes=$(stat -c %s artifacts/ilgpuvit-linux-x64.tar.xz)
limit=$((55 * 1024 * 1024))
echo "artifacts/ilgpuvit-linux-x64.tar.xz: $((bytes / 1024 / 1024)) MiB (limit 55 MiB)"
if [ "$bytes" -gt "$limit" ]; then echo "error: the bundle is over 55 MiB" >&2; exit 1; fi
