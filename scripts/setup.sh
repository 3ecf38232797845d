#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks: the .NET 10 SDK is expected; clang lets the codegen
# test parse the generated OpenCL C. Safe to run twice.
set -euo pipefail
if ! command -v dotnet >/dev/null; then
    echo "The .NET 10 SDK is required: https://dot.net (Debian: apt-get install dotnet-sdk-10.0 from Microsoft's feed)." >&2
    exit 1
fi
if ! command -v clang >/dev/null && ! command -v clang-14 >/dev/null && ! command -v clang-15 >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null
    else
        echo "note: install clang to let the tests parse the generated OpenCL C (sudo apt-get install clang)." >&2
    fi
fi
dotnet restore IlgpuVit.sln --nologo -v quiet
