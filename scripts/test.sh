#!/usr/bin/env bash
# Runs every test and prints the closing line CI reads: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
results=$(mktemp -d)
# Build everything (library, CLI, benchmarks, examples), so a broken project fails the run too.
if ! dotnet build IlgpuVit.sln -c Release --nologo -v quiet; then echo "0 passed, 1 failed, 0 skipped"; exit 1; fi
dotnet test IlgpuVit.sln -c Release --no-build --logger "console;verbosity=normal" --logger trx --results-directory "$results"
status=$?
# Sum the counters of every test assembly's TRX report; skipped tests are those not executed.
count() { cat "$results"/*.trx 2>/dev/null | grep -o "<Counters [^>]*" | grep -o " $1=\"[0-9]*\"" | grep -o "[0-9]*" | awk '{s += $1} END {print s + 0}'; }
passed=$(count passed); failed=$(count failed); total=$(count total); executed=$(count executed)
rm -rf "$results"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then status=1; fi   # a run with no tests is a failure
echo "$passed passed, $failed failed, $((total - executed)) skipped"
exit "$status"
