#!/usr/bin/env bash
# make bench: the design's targets, each beside its baseline measured in the
# same run, as one markdown table (edge/soak TestBenchTable), then the machine;
# the same figures as JSON in dist/bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
mkdir -p dist
if ! LANED_BENCH=1 LANED_BENCH_JSON="$PWD/dist/bench.json" CGO_ENABLED=0 ${GO:-go} test -count=1 -timeout 30m -v -run '^TestBenchTable$' ./edge/soak >"$out" 2>&1; then
  cat "$out"
  exit 1
fi
grep -E '^\||^go[0-9]' "$out"
echo
echo "machine: $(nproc) CPUs; $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "figures: dist/bench.json"
