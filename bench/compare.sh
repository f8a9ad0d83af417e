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

if (($# < 2)); then
  echo "usage: $0 BEFORE_BUILD AFTER_BUILD [ROUNDS]" >&2
  exit 2
fi
builds=("$1" "$2")
rounds=${3:-3}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-50}
WRK_DURATION=${WRK_DURATION:-8s}
BENCH_USERS=${BENCH_USERS:-1000}
WRK_WARMUP=${WRK_WARMUP:-}
for b in "${builds[@]}"; do
  for program in api/streamgate-api worker/streamgate-worker; do
    [ -x "$b/$program" ] || { echo "$b/$program: no such program" >&2; exit 2; }
  done
done
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 2; }

start_scratch compare
results="$tmp/results"

# One run of build $1: prints "req/s p99_ms worker_us deciding_us api_us busy_percent", where
# deciding is the worker's main thread (the decisions and the durable commit).
run_one() {
  local b=$1 dir rp ep ap worker api before after busy requests
  dir=$(mktemp -d "$tmp/run.XXXXXX")
  rp=$(free_port); ep=$(free_port); ap=$(free_port)
  "$b/worker/streamgate-worker" --requests "tcp://127.0.0.1:$rp" --events "tcp://127.0.0.1:$ep" \
    --store "sqlite:$dir/store.db" --catalog data/catalog.json \
    --lease-seconds 600 --log-level warn 2>"$dir/worker.log" &
  worker=$!; pids+=("$worker")
  "$b/api/streamgate-api" --listen "127.0.0.1:$ap" --requests "tcp://127.0.0.1:$rp" \
    --events "tcp://127.0.0.1:$ep" --web-root web --start-rate 0 \
    --max-connections-per-address 0 --log-level warn 2>"$dir/api.log" &
  api=$!; pids+=("$api")
  wait_http "http://127.0.0.1:$ap/health" 20
  create_bench_users "$ap" "$BENCH_USERS"
  [ -n "$WRK_WARMUP" ] && wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_WARMUP" -s bench/start_wait.lua \
    "http://127.0.0.1:$ap/api/v1/users/bench-u0/streams?wait=true" >/dev/null 2>&1
  before="$(cpu_ticks "$worker") $(cpu_ticks "$api") $(machine_ticks) $(cpu_ticks "$worker/task/$worker")"
  wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency -s bench/start_wait.lua \
    "http://127.0.0.1:$ap/api/v1/users/bench-u0/streams?wait=true" >"$dir/wrk.txt" 2>&1
  after="$(cpu_ticks "$worker") $(cpu_ticks "$api") $(machine_ticks) $(cpu_ticks "$worker/task/$worker")"
  kill -TERM "$api" "$worker"
  wait "$api" "$worker" 2>/dev/null || true
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
for round in $(seq 1 "$rounds"); do
  # The order flips every round, so neither build always runs on a machine warmed by the other.
  order=(0 1)
  ((round % 2 == 0)) && order=(1 0)
  for i in "${order[@]}"; do
    line=$(run_one "${builds[$i]}")
    echo "$i $line" >>"$results"
    printf "$row" "$round" "${builds[$i]}" $line
  done
done

echo "== medians"
for i in 0 1; do
  median() { awk -v i="$i" -v col="$1" '$1 == i {print $col}' "$results" | sort -g |
    awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
  printf "$row" "" "${builds[$i]}" "$(median 2)" "$(median 3)" "$(median 4)" "$(median 5)" \
    "$(median 6)" "$(median 7)"
done
