#!/usr/bin/env bash
# make bench: runs every Go benchmark of the project (each reports its result
# as ratios measured in one run, via b.ReportMetric), then the subscription
# load test if present, and writes everything to bench-results.txt (or
# $BENCH_OUT). Run through scripts/with-vault.sh (make bench does).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${BENCH_OUT:-$root/bench-results.txt}
{
  echo "# zoomsignage benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(go version | cut -d' ' -f3)"
  go test -count=1 -run '^$' -bench "${BENCH:-.}" -benchmem -timeout 30m ./... | tee "$out.go"
  # Issue 10: what refusing a hostile document costs, as multiples of a
  # normal query measured in the same run (BenchmarkHostileDocuments).
  awk '/^BenchmarkHostileDocuments/ {
    line = "hostile documents refused, cost vs a normal query:"
    for (i = 3; i < NF; i++) if ($(i+1) ~ /^x-normal\//) { sub(/^x-normal\//, "", $(i+1)); line = line " " $(i+1) "=" $i "x" }
    print line
  }' "$out.go"
  rm -f "$out.go"
  if [ -x scripts/bench-subscriptions.sh ]; then
    echo
    echo "# subscriptions load test"
    scripts/bench-subscriptions.sh
  fi
} 2>&1 | tee "$out"
echo "results written to $out"
