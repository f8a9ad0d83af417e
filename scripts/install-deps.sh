#!/usr/bin/env bash
# Installs the Debian 12 packages streamgate builds, runs and tests with.
# Idempotent: packages already present are skipped, so the quickstart stays fast on a second run.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev libzmq3-dev cppzmq-dev rapidjson-dev catch2
  libsqlite3-dev libspdlog-dev libwebsocketpp-dev
  curl python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  echo "installing: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
