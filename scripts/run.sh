#!/usr/bin/env bash
# Quickstart, command 1: installs what is missing, builds, and runs one worker and one api on this
# machine with the embedded SQLite store and the demo catalog. Ctrl-C stops both cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target streamgate-worker streamgate-api

bin=build/release
mkdir -p var
# The demo clips the api serves to live streams only (docs/design.md, "Playback enforcement").
[[ -d var/media ]] || ./scripts/make-media.sh var/media
"$bin/worker/streamgate-worker" --store sqlite:var/streamgate.db --catalog data/catalog.json "$@" &
worker=$!
"$bin/api/streamgate-api" --listen 127.0.0.1:8080 --web-root web --media-root var/media &
api=$!

# Both programs finish their in-flight work on SIGTERM; forward Ctrl-C to them and wait.
stop() { kill -TERM "$api" "$worker" 2>/dev/null || true; }
trap stop INT TERM
echo "streamgate: UI and API at http://127.0.0.1:8080 (Ctrl-C stops)"
wait "$api" || true
kill -TERM "$worker" 2>/dev/null || true
wait "$worker" || true
