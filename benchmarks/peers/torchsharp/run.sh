#!/bin/bash
# Builds and runs the libtorch peer (TorchSharp-cpu) on Debian 12, outside the repository (its own
# package folder, PEER_WORK, default /tmp/peer-torchsharp). Debian 12's libstdc++ lacks the one
# GLIBCXX_3.4.32 symbol libLibTorchSharp.so asks for: a one-symbol shim (shim.cpp) is preloaded and
# that version need is marked weak (patch_verneed.py). Usage: run.sh vit|train|gemm [--option value ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${PEER_WORK:-/tmp/peer-torchsharp}
export NUGET_PACKAGES=$work/nuget
mkdir -p "$work/src"
cp "$here"/Program.cs "$here"/ts.csproj "$here"/shim.cpp "$here"/patch_verneed.py "$work/src/"
cd "$work/src"
dotnet build -c Release -o "$work/bin" >"$work/build.log" 2>&1 || { tail -5 "$work/build.log" >&2; exit 1; }
[[ -f $work/shim.so ]] || g++ -shared -fPIC -O2 -o "$work/shim.so" shim.cpp
so=$(find "$NUGET_PACKAGES" -name libLibTorchSharp.so -path '*linux-x64*' | head -1)
if ! [[ -f $so.patched ]]; then
  python3 patch_verneed.py "$so" 0x297f842 >/dev/null   # 0x297f842 = ELF hash of GLIBCXX_3.4.32
  touch "$so.patched"
fi
LD_PRELOAD=$work/shim.so exec dotnet "$work/bin/ts.dll" "$@"
