#!/usr/bin/env bash
# Sets up what is missing, then runs the main job: list the accelerators, run attention on the
# default device (checked against float64), and measure every kernel against a managed baseline.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
./ilgpuvit info
dotnet run -c Release --project examples/QuickStart
dotnet run -c Release --project benchmarks/IlgpuVit.Benchmarks -- kernels --json kernels.json
