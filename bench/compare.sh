#!/usr/bin/env bash
# Before and after on the hot path: the ?wait=true start (bench/run.sh's flags, SQLite, 1,000
# users) of two builds, alternated round by round, each run with a fresh worker, api and store.
# Alternating matters on a shared machine: its speed drifts by more than most changes are worth,
# and a drift then hits both builds alike. Prints every run, then each build's medians.
#   bench/compare.sh BEFORE_BUILD AFTER_BUILD [ROUNDS]
# A build is a tree with api/streamgate-api and worker/streamgate-worker (build/bench, or a copy
# of the programs made before a change). WRK_CONNECTIONS, WRK_DURATION and BENCH_USERS can be set
# from the environment, and WRK_WARMUP: a run of that length before the measured one, unmeasured,
# so the users already hold the streams they hold late in bench/run.sh (its ?wait=true run comes
# after other runs; the bench's users never stop what they start).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

two_builds "$@"
WRK_CONNECTIONS=${WRK_CONNECTIONS:-50}
WRK_DURATION=${WRK_DURATION:-8s}
BENCH_USERS=${BENCH_USERS:-1000}
WRK_WARMUP=${WRK_WARMUP:-}

start_scratch compare

# One run of build $1: prints "req/s p99_ms worker_us deciding_us api_us busy_percent", where
# deciding is the worker's main thread (the decisions and the durable commit).
run_one() {
  local b=$1 dir ap worker api before after busy requests
  dir=$(mktemp -d "$tmp/run.XXXXXX")
  start_build "$b" "$dir" "$BENCH_USERS"
  [ -n "$WRK_WARMUP" ] && wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_WARMUP" -s bench/start_wait.lua \
    "http://127.0.0.1:$ap/api/v1/users/bench-u0/streams?wait=true" >/dev/null 2>&1
  before="$(cpu_ticks "$worker") $(cpu_ticks "$api") $(machine_ticks) $(cpu_ticks "$worker/task/$worker")"
  wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency -s bench/start_wait.lua \
    "http://127.0.0.1:$ap/api/v1/users/bench-u0/streams?wait=true" >"$dir/wrk.txt" 2>&1
  after="$(cpu_ticks "$worker") $(cpu_ticks "$api") $(machine_ticks) $(cpu_ticks "$worker/task/$worker")"
  stop_build
  requests=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
  echo "$before $after $requests" | awk -v wrk="$dir/wrk.txt" '{
    while ((getline line < wrk) > 0) {
      if (line ~ /Requests\/sec/) { split(line, f, " "); rps = f[2] }
      if (line ~ /^ +99%/) { split(line, f, " "); p99 = f[2] }
    }
    ms = p99 + 0
    if (p99 ~ /us$/) ms /= 1000; else if (p99 ~ /[^m]s$/) ms *= 1000
    n = $11; busy = $8 - $3; idle = $9 - $4
    printf "%.0f %.2f %.1f %.1f %.1f %d\n", rps, ms, ($6 - $1) * 1e4 / n, ($10 - $5) * 1e4 / n,
      ($7 - $2) * 1e4 / n, 100 * busy / (busy + idle)
  }'
}

echo "== ?wait=true, wrk -t1 -c$WRK_CONNECTIONS -d$WRK_DURATION${WRK_WARMUP:+ after $WRK_WARMUP unmeasured}, $BENCH_USERS users, $rounds rounds"
row='%-8s %-40s %9s %8s %10s %12s %8s %6s\n'
printf "$row" round build req/s p99_ms worker_us deciding_us api_us busy%
alternate_builds
