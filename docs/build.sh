#!/usr/bin/env bash
# Installs the browser libraries the api serves (pinned by docs/package-lock.json) and copies the
# files the pages need into OUT_DIR; streamgate-api serves OUT_DIR as /docs/assets/, so no page
# needs a network beyond the api itself:
#  - swagger-ui-dist renders docs/docs.html, served as /docs;
#  - hls.js plays the demo clips in the web UI's player (web/js/player.js); it lives here rather
#    than in web/ because web/ has no build step and no npm packages.
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
# hls.js (Apache-2.0 too): its licence beside it under its own name, swagger-ui's has LICENSE.
install -m 0644 node_modules/hls.js/dist/hls.min.js "$out/hls.min.js"
install -m 0644 node_modules/hls.js/LICENSE "$out/hls.js.LICENSE.txt"
echo "docs assets in $out"
