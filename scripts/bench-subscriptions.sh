#!/usr/bin/env bash
# Subscriptions load test (called by scripts/bench.sh, under
# scripts/with-vault.sh): one gateway process on loopback, 10,000 websocket
# subscribers in a separate client process, 1,000 room status events per
# second for 10 s. Reports p99 latency (detection → client) and resident
# memory per idle subscriber. Bounded: the go test timeout stops it.
# SUBBENCH_SUBSCRIBERS, SUBBENCH_TENANTS, SUBBENCH_RATE and SUBBENCH_SECONDS
# change the load (SUBBENCH_TENANTS=100: 100 subscribers per tenant).
set -euo pipefail
cd "$(dirname "$0")/.."
# Every subscriber is a socket in each process, plus Postgres, Redis and Vault.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 12000 ]; then
  echo "bench-subscriptions: the file-descriptor limit is $(ulimit -n); 12000 or more is needed" >&2
  exit 1
fi
# The runtime starts new goroutines with the average stack size it has seen;
# a replica holding thousands of idle subscribers (three parked goroutines
# each, most of them with shallow stacks) is smaller with fixed 2 KiB
# starting stacks: the production recommendation for such replicas, so the
# benchmark runs the gateway with it (about 1.5 KB less per idle subscriber
# in our runs). It is a GODEBUG setting the runtime reads at start only, and
# //go:debug does not accept it.
export GODEBUG="${GODEBUG:+$GODEBUG,}adaptivestackstart=0"
ZS_SUBBENCH=1 go test -count=1 -run '^$' -bench '^BenchmarkSubscriptions$' -benchtime 1x -timeout 10m ./test/subbench/
