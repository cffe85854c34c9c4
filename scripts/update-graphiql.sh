#!/usr/bin/env bash
# Re-fetches the GraphiQL page's third-party files (server/graphiql/assets)
# from the npm registry with `npm pack`, which checks each tarball against
# the registry's integrity hash, and then checks every file against the
# committed SHA256SUMS, so a re-fetch proves the embedded bytes are the
# published ones. To move to other versions, edit PACKAGES below and run
# with -u: the files and SHA256SUMS are rewritten, and the versions and
# sums in server/graphiql/doc.go must be updated by hand to match.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/server/graphiql/assets"
update=false
[ "${1:-}" = "-u" ] && update=true

# package@version  file in the tarball  name under assets/
PACKAGES=(
  "graphiql@3.8.3 package/graphiql.min.js graphiql.min.js"
  "graphiql@3.8.3 package/graphiql.min.css graphiql.min.css"
  "react@18.3.1 package/umd/react.production.min.js react.production.min.js"
  "react-dom@18.3.1 package/umd/react-dom.production.min.js react-dom.production.min.js"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for entry in "${PACKAGES[@]}"; do
  read -r spec inner name <<<"$entry"
  dir="$work/${spec//[@\/]/_}"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    tgz=$(cd "$dir" && npm pack --silent "$spec")
    tar -C "$dir" -xzf "$dir/$tgz"
  fi
  cp "$dir/$inner" "$work/$name"
done

names=()
for entry in "${PACKAGES[@]}"; do
  read -r _ _ name <<<"$entry"
  names+=("$name")
done
if $update; then
  for name in "${names[@]}"; do cp "$work/$name" "$dest/$name"; done
  (cd "$dest" && sha256sum "${names[@]}" >SHA256SUMS)
  echo "rewrote $dest and its SHA256SUMS; update server/graphiql/doc.go"
  exit 0
fi
# Both the fetched and the committed files must match the committed sums.
(cd "$work" && sha256sum --quiet -c "$dest/SHA256SUMS")
(cd "$dest" && sha256sum --quiet -c SHA256SUMS)
echo "server/graphiql/assets match the npm registry's packages"
