#!/usr/bin/env bash
# Installs the /docs renderer (swagger-ui-dist, pinned by docs/package-lock.json) and copies the
# files docs/docs.html needs into OUT_DIR; streamgate-api serves OUT_DIR as /docs/assets/ and
# docs/docs.html as /docs, so the page needs no network beyond the api itself.
#
#   docs/build.sh OUT_DIR        e.g. docs/build.sh build/release/docs-assets
set -euo pipefail

if [[ $# -ne 1 || -z $1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)  # resolved against the caller's directory, before the cd below
cd "$(dirname "$0")"

# npm ci writes node_modules/.package-lock.json; when it is newer than the lock file, the
# installed tree is the pinned one, so a rebuild needs neither the network nor a reinstall.
if [[ ! node_modules/.package-lock.json -nt package-lock.json ||
      ! node_modules/.package-lock.json -nt package.json ]]; then
  # --ignore-scripts: the only install script in the tree is @scarf/scarf's usage report.
  npm ci --no-audit --no-fund --ignore-scripts
fi

dist=node_modules/swagger-ui-dist
files=(
  swagger-ui-bundle.js swagger-ui.css favicon-32x32.png favicon-16x16.png
  # Apache-2.0: redistributed files travel with their licence and notices.
  LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt
)
for f in "${files[@]}"; do
  install -m 0644 "$dist/$f" "$out/$f"
done
echo "docs assets in $out"
