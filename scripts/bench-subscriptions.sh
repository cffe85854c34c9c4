#!/usr/bin/env bash
# Subscriptions load test (called by scripts/bench.sh, under
# scripts/with-vault.sh): one gateway process on loopback, 10,000 websocket
# subscribers in a separate client process, 1,000 room status events per
# second for 10 s. Reports p99 latency (detection → client) and resident
# memory per idle subscriber. Bounded: the go test timeout stops it.
# SUBBENCH_SUBSCRIBERS, SUBBENCH_TENANTS, SUBBENCH_RATE and SUBBENCH_SECONDS
# change the load.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every subscriber is a socket in each process, plus Postgres, Redis and Vault.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 12000 ]; then
  echo "bench-subscriptions: the file-descriptor limit is $(ulimit -n); 12000 or more is needed" >&2
  exit 1
fi
ZS_SUBBENCH=1 go test -count=1 -run '^$' -bench '^BenchmarkSubscriptions$' -benchtime 1x -timeout 10m ./test/subbench/
