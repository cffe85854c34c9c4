#!/usr/bin/env bash
# Fails when graph/ differs from what `go generate` makes of schema/*.graphqls
# and gqlgen.yml: graph/ is only ever written by gqlgen. Compares content,
# not git state, so it works on uncommitted work too, and leaves the tree as
# it found it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
saved=$(mktemp -d)
trap 'rm -rf "$saved"' EXIT
cp -a graph "$saved/graph"
cp -a resolvers "$saved/resolvers"
go generate ./resolvers/
if ! diff -r "$saved/graph" graph >/dev/null; then
  diff -r "$saved/graph" graph | head -40 >&2
  rm -rf graph resolvers && cp -a "$saved/graph" graph && cp -a "$saved/resolvers" resolvers
  echo "graph/ is stale: run 'make generate' and commit the result" >&2
  exit 1
fi
rm -rf resolvers && cp -a "$saved/resolvers" resolvers
echo "graph/ is up to date"
