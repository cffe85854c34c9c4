#!/usr/bin/env bash
# Fails when graph/ differs from what `go generate` makes of schema/*.graphqls
# and gqlgen.yml: graph/ is only ever written by gqlgen. It regenerates in a
# temporary copy of the module, so the working tree is never touched (other
# work in progress there stays as it is).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The module minus what gqlgen does not read (tools, node modules, git).
tar -C "$root" --exclude=./.git --exclude=./tools --exclude='./test/*/node_modules' -cf - . | tar -C "$work" -xf -
(cd "$work" && go generate ./resolvers/ >/dev/null)
if ! diff -r "$root/graph" "$work/graph" >/dev/null; then
  diff -r "$root/graph" "$work/graph" | head -40 >&2
  echo "graph/ is stale: run 'make generate' and commit the result" >&2
  exit 1
fi
echo "graph/ is up to date"
