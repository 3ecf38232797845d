#!/usr/bin/env bash
# All-reduce bandwidth over MPI on this machine (docs/distributed.md): the C baseline (built here with mpicc) and
# `ilgpuvit bench allreduce`, both on 2 ranks (loopback, shared memory) over the same sizes, one after the other.
# Usage: benchmarks/allreduce/run.sh [OUT_DIR]   (needs openmpi-bin and libopenmpi-dev; as root it adds --allow-run-as-root)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
out="${1:-$root/runs/allreduce}"
mkdir -p "$out"
flags=(--oversubscribe -np 2)
[[ "$(id -u)" == 0 ]] && flags=(--allow-run-as-root "${flags[@]}")
mpicc -O2 -o "$out/allreduce" "$here/allreduce.c"
dotnet build "$root/src/IlgpuVit.Cli" -c Release -v quiet -nologo >/dev/null
runs=20
echo "== C, MPI_Allreduce =="
mpirun "${flags[@]}" "$out/allreduce" "$runs" | tee "$out/c.txt"
echo "== C#, ilgpuvit bench allreduce (IlgpuVit.Mpi) =="
mpirun "${flags[@]}" "$root/ilgpuvit" bench allreduce --runs "$runs" --json "$out/csharp.json" | tee "$out/csharp.txt"
