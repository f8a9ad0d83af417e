#!/usr/bin/env bash
# Before and after on the WebSocket tail: bench/run.sh's WebSocket sequence (8 s of ?wait=true
# first, as the wrk runs before it leave the store; then starts at the max rate, at half of it and
# at 1,000/s over 100 sockets) for two builds, alternated round by round, each run with a fresh
# worker, api and store (SQLite). Prints each run's p99 per rate and the worker's batches that took
# over 5 ms in all three (its streamgate_worker_batch_seconds), then each build's medians.
#   bench/compare_ws.sh BEFORE_BUILD AFTER_BUILD [ROUNDS]
# A build is a tree with api/streamgate-api and worker/streamgate-worker, as for bench/compare.sh.
# Both builds are driven by one client: BENCH_CLIENT (default build/bench/bench/streamgate-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

two_builds "$@"
client=${BENCH_CLIENT:-build/bench/bench/streamgate-bench}
[ -x "$client" ] || { echo "$client: no such program (cmake --build --preset bench)" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || true

start_scratch compare_ws

# Batches over 5 ms so far, from the api's copy of the worker's histogram.
slow_batches() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    $1 == "streamgate_worker_batch_seconds_bucket{le=\"0.005\"}" {fast = $2}
    $1 == "streamgate_worker_batch_seconds_bucket{le=\"+Inf\"}" {all = $2}
    END {print all - fast}'
}

p99_ms() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["latency"]["p99_us"] / 1000)' "$1"; }

# One run of build $1: prints "max_per_s max_p99 half_p99 1000_p99 slow_batches".
run_one() {
  local b=$1 dir ap worker api slow_before half max
  dir=$(mktemp -d "$tmp/run.XXXXXX")
  start_build "$b" "$dir" 1000
  wrk -t1 -c50 -d8s -s bench/start_wait.lua \
    "http://127.0.0.1:$ap/api/v1/users/bench-u0/streams?wait=true" >/dev/null 2>&1
  slow_before=$(slow_batches "$ap")
  "$client" --port "$ap" --users 100 --connections 100 --window 64 --duration 8 --json \
    >"$dir/max.json" || true
  max=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["throughput_per_s"]))' "$dir/max.json")
  half=$((max / 2 > 0 ? max / 2 : 1))
  "$client" --port "$ap" --users 100 --connections 100 --rate "$half" --duration 8 --json \
    >"$dir/half.json" || true
  "$client" --port "$ap" --users 100 --connections 100 --rate 1000 --duration 8 --json \
    >"$dir/1000.json" || true
  echo "$max $(p99_ms "$dir/max.json") $(p99_ms "$dir/half.json") $(p99_ms "$dir/1000.json")" \
    "$(($(slow_batches "$ap") - slow_before))"
  stop_build
}

echo "== WebSocket starts after 8 s of ?wait=true, 100 sockets, $rounds rounds"
row='%-8s %-40s %9s %12s %12s %12s %14s\n'
printf "$row" round build max_per_s max_p99_ms half_p99_ms 1000_p99_ms batches_over_5ms
alternate_builds
