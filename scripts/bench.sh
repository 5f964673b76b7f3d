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

# Decoders (hal/camera): every input kind of both codecs, 1 MiB each in
# 64-byte reads; target ≥ 5 MB/s for any input. cpu-MB/s divides by the
# process's CPU time, which a busy machine does not dilute.
dec=$(mktemp)
trap 'rm -f "$out" "$dec"' EXIT
if ! CGO_ENABLED=0 ${GO:-go} test -count=1 -run '^$' -bench '^BenchmarkDecode(LaneFrame|Template)$' -benchtime 5x ./hal/camera >"$dec" 2>&1; then
  cat "$dec"
  exit 1
fi
echo
echo "| decoder / input | MB/s | cpu-MB/s | target |"
echo "|---|---|---|---|"
awk '/^BenchmarkDecode/ {
  name = $1; sub(/^BenchmarkDecode/, "", name); sub(/-[0-9]+$/, "", name)
  mbs = ""; cpu = ""
  for (i = 2; i <= NF; i++) { if ($i == "MB/s") mbs = $(i-1); if ($i == "cpu-MB/s") cpu = $(i-1) }
  printf "| %s | %s | %s | ≥ 5 MB/s |\n", name, mbs, cpu
}' "$dec"

# Site replication (site): commit at one box → applied at the other, two
# boxes on loopback, one entry at a time; target p99 ≤ 50 ms (issue 18).
rep=$(mktemp)
trap 'rm -f "$out" "$dec" "$rep"' EXIT
if ! CGO_ENABLED=0 ${GO:-go} test -count=1 -run '^$' -bench '^BenchmarkReplicationDelay$' -benchtime 500x ./site >"$rep" 2>&1; then
  cat "$rep"
  exit 1
fi
echo
echo "| replication delay | p50 ms | p99 ms | target |"
echo "|---|---|---|---|"
awk '/^BenchmarkReplicationDelay/ {
  p50 = ""; p99 = ""
  for (i = 2; i <= NF; i++) { if ($i == "p50-ms") p50 = $(i-1); if ($i == "p99-ms") p99 = $(i-1) }
  printf "| commit → applied, 2 boxes | %s | %s | p99 ≤ 50 ms |\n", p50, p99
}' "$rep"
