#!/usr/bin/env bash
# Runs a command with a real Vault dev server: builds (or reuses) the
# binary, starts it on a free loopback port with transit enabled, exports
# TEST_VAULT_ADDR / TEST_VAULT_TOKEN (and TEST_VAULT_BIN, for tests that run
# a Vault of their own) for the command, and stops Vault when
# the command ends, whatever its outcome.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$("$root/scripts/vaultdev-build.sh")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token="dev-root-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
addr="http://127.0.0.1:$port"
log=$(mktemp -t vaultdev.XXXXXX.log)

"$bin" server -dev -dev-root-token-id="$token" -dev-listen-address="127.0.0.1:$port" >"$log" 2>&1 &
vault_pid=$!
trap 'kill $vault_pid 2>/dev/null; wait $vault_pid 2>/dev/null; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  if VAULT_ADDR=$addr VAULT_TOKEN=$token "$bin" status >/dev/null 2>&1; then break; fi
  if ! kill -0 $vault_pid 2>/dev/null; then echo "dev Vault exited:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.2
done
VAULT_ADDR=$addr VAULT_TOKEN=$token "$bin" secrets enable transit >/dev/null

export TEST_VAULT_ADDR=$addr TEST_VAULT_TOKEN=$token TEST_VAULT_BIN=$bin
"$@"
