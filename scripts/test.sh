#!/usr/bin/env bash
# Quickstart, command 2: installs what is missing, builds once, and runs every test
# (unit and integration, the latter with real worker and api processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh --test
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release
