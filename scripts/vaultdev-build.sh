#!/usr/bin/env bash
# Builds the dev Vault server from tools/vaultdev (HashiCorp Vault's own Go
# module) once, caches the binary outside the repo keyed by the tools
# module's content, and prints its path. The first build takes several
# minutes on 2 cores; later runs reuse the cached binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/tools/vaultdev"
hash=$(cat "$tools/go.mod" "$tools/go.sum" "$tools/main.go" | sha256sum | cut -c1-16)
cache="${ZS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zoomsignage}"
bin="$cache/vaultdev-$hash"
mkdir -p "$cache"
# Parallel test runs (several checkouts on one machine) wait for one build
# instead of racing to write the same file.
exec 9>"$cache/.vaultdev-build.lock"
flock 9
if [ ! -x "$bin" ]; then
  echo "building the dev Vault server (first time only, several minutes)..." >&2
  # One of Vault's plugin modules is unknown to the checksum database; its
  # hash is pinned in tools/vaultdev/go.sum, which go verifies instead.
  (cd "$tools" && GONOSUMDB=github.com/hashicorp/vault-plugin-database-snowflake go build -o "$bin.tmp.$$" .)
  mv "$bin.tmp.$$" "$bin"
fi
echo "$bin"
