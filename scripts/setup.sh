#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks: the .NET 10 SDK is expected; clang lets the codegen
# test parse the generated OpenCL C; Fashion-MNIST (Debian's dataset-fashion-mnist) is the default
# training data. Safe to run twice.
set -euo pipefail
if ! command -v dotnet >/dev/null; then
    echo "The .NET 10 SDK is required: https://dot.net (Debian: apt-get install dotnet-sdk-10.0 from Microsoft's feed)." >&2
    exit 1
fi
missing=()
if ! command -v clang >/dev/null && ! command -v clang-14 >/dev/null && ! command -v clang-15 >/dev/null; then
    missing+=(clang)
fi
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    missing+=(dataset-fashion-mnist)
fi
# Open MPI: the data-parallel tests start 2 ranks with mpirun (docs/distributed.md).
if ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
    missing+=(openmpi-bin libopenmpi-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "note: install ${missing[*]} (sudo apt-get install ${missing[*]}): clang parses the generated OpenCL C in the tests; dataset-fashion-mnist is the default training data; Open MPI runs the data-parallel tests." >&2
    fi
fi
dotnet restore IlgpuVit.sln --nologo -v quiet
