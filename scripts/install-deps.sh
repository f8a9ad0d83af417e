#!/usr/bin/env bash
# Installs the Debian 12 packages streamgate builds, runs and tests with.
# Idempotent: packages already present are skipped, so the quickstart stays fast on a second run.
# With --test it also installs what only the tests need (Chromium and Node.js for the browser tests).
set -euo pipefail
with_tests=false
[[ ${1:-} == --test ]] && with_tests=true

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev libzmq3-dev cppzmq-dev rapidjson-dev catch2
  libsqlite3-dev zlib1g-dev libspdlog-dev libwebsocketpp-dev libssl-dev libhiredis-dev libjemalloc-dev
  curl python3
  # scripts/make-media.sh: the demo's HLS clips, with the titles drawn in DejaVu Sans.
  ffmpeg fonts-dejavu-core
)
# redis-server: the Redis store's tests start real ones on free ports. nginx-light (it has
# auth_request): the test of deploy/nginx-media.conf runs it in front of an api.
$with_tests && packages+=(chromium redis-server nginx-light)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js runs the browser tests; the machines have it, a bare Debian gets it from Debian.
if $with_tests && ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
fi
