#!/usr/bin/env bash
# Browser end-to-end tests of the web UI against real streamgate-worker and streamgate-api
# processes. Installs playwright-core (pinned by package-lock.json) when missing and drives
# Debian's chromium; exits non-zero when a step fails. Screenshots and process logs: out/.
# The api serves the demo clips of scripts/make-media.sh, made on the first run beside its build.
#
# Inputs (all optional): STREAMGATE_WORKER, STREAMGATE_API (default: newest build*/ of the repo),
# STREAMGATE_CATALOG (default: data/catalog.json), STREAMGATE_WEB_ROOT
# (default: web/), STREAMGATE_MEDIA_ROOT (default: e2e-media/ beside the api's build),
# CHROMIUM_PATH (default: /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")"

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "e2e: $chromium is missing; install it with: apt-get install -y chromium" >&2
  exit 1
fi
if [[ ! -d node_modules/playwright-core ]]; then
  npm ci --no-audit --no-fund
fi
# The screenshots and logs of this run only (node runs the files in its own order).
rm -rf out && mkdir out
# One file at a time: each starts its own processes and browser on a 2-core machine.
exec node --test --test-reporter=spec --test-concurrency=1 --test-timeout=300000 e2e.test.mjs playback.test.mjs reconnect.test.mjs auth.test.mjs
