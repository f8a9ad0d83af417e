#!/usr/bin/env bash
# Soak: a million REST requests (start ?wait=true, then stop, bench/start_stop_mix.lua) against one
# api and one worker on a SQLite store, in chunks; after each chunk it prints the requests so far,
# the RSS of both processes and the size of the store's files, so growth shows (hardening: the
# store grew 4 -> 168 MB over ~160k requests before the audit trail had a per-user cap). Every
# start and stop writes an audit line, so SOAK_USERS users reach the cap (--audit-lines-per-user,
# 1,000) after SOAK_USERS * 1,125 requests; from there on, nothing should grow.
#   SOAK_STORE=redis  a redis-server instead (AOF synced at every write, as scale_out.sh runs it);
#                     the store column is then Redis's used_memory, which grows until the
#                     request-owner index's generations expire (two request memories, 20 minutes
#                     by default; docs/design.md §8). The worker's RSS must not grow (session 54:
#                     its lease heap grew by one entry per decision for a lease's length).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SOAK_REQUESTS=${SOAK_REQUESTS:-1000000}
SOAK_STORE=${SOAK_STORE:-sqlite}
SOAK_USERS=${SOAK_USERS:-100}
CHUNK_SECONDS=${CHUNK_SECONDS:-15}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-50}
export BENCH_USERS=$SOAK_USERS
out=bench/out
mkdir -p "$out"
need_tools wrk:wrk
case "$SOAK_STORE" in
  sqlite) ;;
  redis) need_tools redis-server:redis-server ;;
  *) echo "SOAK_STORE must be sqlite or redis, not '$SOAK_STORE'" >&2; exit 2 ;;
esac

# BENCH_BIN: a build directory whose programs to run as they are (no build), e.g. build/release.
bin=${BENCH_BIN:-build/bench}
if [ -z "${BENCH_BIN:-}" ]; then
  cmake --preset bench >/dev/null
  cmake --build --preset bench --target streamgate-worker streamgate-api >/dev/null
fi

start_scratch streamgate-soak

req_port=$(free_port); ev_port=$(free_port); api_port=$(free_port)
if [ "$SOAK_STORE" = redis ]; then
  redis_port=$(free_port)
  start_redis "$tmp/redis" "$redis_port"
  store=(--store "redis://127.0.0.1:$redis_port" --seed)
  store_kib() { redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/ {print int($2 / 1024)}'; }
else
  store=(--store "sqlite:$tmp/store.db")
  store_kib() { du -k -c "$tmp"/store.db* | awk 'END {print $1}'; }
fi
"$bin/worker/streamgate-worker" --requests "tcp://127.0.0.1:$req_port" \
  --events "tcp://127.0.0.1:$ev_port" "${store[@]}" --catalog data/catalog.json \
  --lease-seconds 600 --log-level warn 2>"$tmp/worker.log" &
worker_pid=$!; pids+=("$worker_pid")
"$bin/api/streamgate-api" --listen "127.0.0.1:$api_port" --requests "tcp://127.0.0.1:$req_port" \
  --events "tcp://127.0.0.1:$ev_port" --web-root web --start-rate 0 --log-level warn \
  2>"$tmp/api.log" &
api_pid=$!; pids+=("$api_pid")
wait_http "http://127.0.0.1:$api_port/health" 20
create_bench_users "$api_port" "$SOAK_USERS"

printf '%10s %10s %14s %14s %14s\n' requests req/s "api RSS KiB" "worker RSS KiB" "store KiB" |
  tee "$out/soak.txt"
total=0
samples=()
while [ "$total" -lt "$SOAK_REQUESTS" ]; do
  wrk -t1 -c"$WRK_CONNECTIONS" -d"${CHUNK_SECONDS}s" -s bench/start_stop_mix.lua \
    "http://127.0.0.1:$api_port/api/v1/users/bench-u0/streams?wait=true" >"$tmp/wrk.txt" 2>&1
  done_now=$(awk '/requests in/ {print $1}' "$tmp/wrk.txt")
  rate=$(awk '/Requests\/sec/ {printf "%d", $2}' "$tmp/wrk.txt")
  if grep -q 'Non-2xx' "$tmp/wrk.txt"; then grep -E 'Non-2xx|status' "$tmp/wrk.txt" >&2; fi
  total=$((total + done_now))
  line=$(printf '%10d %10d %14d %14d %14d' "$total" "$rate" "$(rss_kib "$api_pid")" \
    "$(rss_kib "$worker_pid")" "$(store_kib)")
  echo "$line" | tee -a "$out/soak.txt"
  samples+=("$line")
done

# Growth over the second half of the run: what a leak would show once every user is at its cap.
python3 - "$out/soak.txt" <<'PY' | tee -a "$out/soak.txt"
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]).read().splitlines()[1:] if l.strip()]
mid = rows[len(rows) // 2]
last = rows[-1]
for i, name in ((2, "api RSS"), (3, "worker RSS"), (4, "store")):
    growth = (last[i] - mid[i]) / mid[i] * 100 if mid[i] else 0.0
    print(f"{name}: {mid[i]} KiB at {mid[0]:,} requests, {last[i]} KiB at {last[0]:,} ({growth:+.1f} %)")
PY
