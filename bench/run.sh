#!/usr/bin/env bash
# Load figures of streamgate on this machine, next to a bare nginx as the ceiling (see README.md).
# Builds the "bench" preset, starts one worker (temporary SQLite store) and one api on free
# loopback ports, creates the bench users, runs wrk and streamgate-bench, then nginx, and prints
# a table; bench/out/results.json keeps the figures. Everything started here is stopped on exit.
#   BENCH_PROFILE=1  also records a perf profile of the api and the worker under ?wait=true load
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

# ---- settings (override from the environment) ----------------------------------------------
WRK_THREADS=${WRK_THREADS:-1}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-50}
WRK_DURATION=${WRK_DURATION:-8s}
BENCH_USERS=${BENCH_USERS:-1000}        # bench-u0 .. bench-u<N-1>, maxStreams 1000 each
WS_USERS=${WS_USERS:-100}               # WebSocket bench: users, one connection each
WS_WINDOW=${WS_WINDOW:-64}              # outstanding starts in the max-rate run
WS_DURATION=${WS_DURATION:-8}           # seconds, 1 of warm-up
HOLD_CONNECTIONS=${HOLD_CONNECTIONS:-10000}
BENCH_PROFILE=${BENCH_PROFILE:-0}
export BENCH_USERS

out=bench/out
bin=${BENCH_BIN:-build/bench}  # programs already built elsewhere (a before/after comparison)
mkdir -p "$out"
rm -f "$out"/*.txt "$out"/*.json

# ---- tools -----------------------------------------------------------------------------------
need_tools wrk:wrk nginx:nginx-light
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
# 10k WebSockets need 10k descriptors in the api and in the client (both inherit this limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -n 65536 2>/dev/null || true

if [ -z "${BENCH_BIN:-}" ]; then
  echo "== build (preset bench)"
  cmake --preset bench >/dev/null
  cmake --build --preset bench
fi

# ---- processes -------------------------------------------------------------------------------
start_scratch streamgate-bench


req_port=$(free_port); ev_port=$(free_port); api_port=$(free_port); nginx_port=$(free_port)
api=http://127.0.0.1:$api_port
echo "load average at start: $(loadavg)" | tee "$out/loadavg.txt"

"$bin/worker/streamgate-worker" --requests "tcp://127.0.0.1:$req_port" \
  --events "tcp://127.0.0.1:$ev_port" --store "sqlite:$tmp/store.db" --catalog data/catalog.json \
  --lease-seconds 600 --log-level warn 2>"$out/worker.log" &
worker_pid=$!; pids+=("$worker_pid")
# Playback tokens valid for an hour: the authorize run's token outlives any WRK_DURATION. Every
# client here connects from 127.0.0.1, the hold from 10,000 sockets: no per-address cap.
"$bin/api/streamgate-api" --listen "127.0.0.1:$api_port" --requests "tcp://127.0.0.1:$req_port" \
  --events "tcp://127.0.0.1:$ev_port" --web-root web --playback-token-seconds 3600 \
  --start-rate 0 --max-connections-per-address 0 --log-level warn 2>"$out/api.log" &
api_pid=$!; pids+=("$api_pid")
wait_http "$api/health" 20

echo "== creating $BENCH_USERS users"
create_bench_users "$api_port" "$BENCH_USERS"

# The processes whose CPU each wrk run measures, as name=pid (the nginx run sets its own).
cpu_pids=()
run_wrk() {  # name, url, [more wrk options: -s script, -H header]
  local name=$1 url=$2 p before=() after=()
  shift 2
  echo "== wrk $name"
  for p in "${cpu_pids[@]}"; do before+=("$(cpu_ticks "${p#*=}")"); done
  local machine_before machine_after threads_before=""
  [ -n "${worker_pid:-}" ] && threads_before=$(thread_ticks "$worker_pid")
  machine_before=$(machine_ticks)
  wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency "$@" "$url" \
    >"$out/wrk-$name.txt" 2>&1
  machine_after=$(machine_ticks)
  for p in "${cpu_pids[@]}"; do after+=("$(cpu_ticks "${p#*=}")"); done
  # The worker's CPU per request by thread (bench/README.md): which of its threads a change
  # should make cheaper.
  if [ -n "$threads_before" ]; then
    join <(echo "$threads_before") <(thread_ticks "$worker_pid") |
      awk -v n="$(awk '/requests in/ {print $1}' "$out/wrk-$name.txt")" \
        '$3 > $2 && n > 0 {print $1, int(($3 - $2) * 10000000 / n)}' >"$out/threads-$name.txt"
  fi
  # How busy the whole machine was: a run far from 100 % is held up by waiting, not by CPU alone
  # (docs/design.md §8 says why that wait is not the decision log's fsync).
  busy_percent "$machine_before" "$machine_after" >"$out/busy-$name.txt"
  grep -E 'Requests/sec|Non-2xx|Socket errors|status|starts' "$out/wrk-$name.txt" || true
  # CPU per request of each process over the run, from /proc ticks (10 ms each).
  local requests i
  requests=$(awk '/requests in/ {print $1}' "$out/wrk-$name.txt")
  for i in "${!cpu_pids[@]}"; do
    echo "${cpu_pids[$i]%%=*} $(((after[i] - before[i]) * 10000000 / ${requests:-1}))"
  done >"$out/cpu-$name.txt"  # name, then nanoseconds per request
}

cpu_pids=("api=$api_pid" "worker=$worker_pid")
run_wrk health "$api/health"
# The check nginx's auth_request makes before each media request (deploy/nginx-media.conf): the
# token of a live stream, as a player sends it in a segment's query.
token=$(curl -s -XPOST "$api/api/v1/users/alice/streams?wait=true" \
  -H 'Content-Type: application/json' -d '{"videoId":"v01"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["playback"]["token"])')
media_uri="/media/v01/seg00.ts?token=$token"
authorized=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Original-URI: $media_uri" \
  "$api/api/v1/playback/authorize")
[ "$authorized" = 204 ] || echo "the live stream's token is answered $authorized, not 204" >&2
run_wrk authorize "$api/api/v1/playback/authorize" -H "X-Original-URI: $media_uri"
run_wrk start_wait "$api/api/v1/users/bench-u0/streams?wait=true" -s bench/start_wait.lua
if [ "$BENCH_PROFILE" = 1 ]; then
  # A second ?wait=true run under perf, so the profiler does not touch the figure above.
  dur=${WRK_DURATION%s}
  for p in api worker; do
    pid_var=${p}_pid
    perf record -F 999 -g -p "${!pid_var}" -o "$tmp/perf-$p.data" -- sleep "$((dur - 1))" \
      >/dev/null 2>&1 &
    eval "perf_$p=\$!"
  done
  run_wrk start_wait_profiled "$api/api/v1/users/bench-u0/streams?wait=true" \
    -s bench/start_wait.lua
  wait "$perf_api" "$perf_worker" || true
  for p in api worker; do
    {
      perf report -i "$tmp/perf-$p.data" --stdio --no-children -g none --sort dso 2>/dev/null
      perf report -i "$tmp/perf-$p.data" --stdio --no-children -g none --percent-limit 0.7 \
        --sort dso,symbol 2>/dev/null
    } | grep -v -e '^$' -e '^#' | cut -c1-160 >"$out/perf-$p.txt" || true
  done
  echo "profiles: $out/perf-api.txt $out/perf-worker.txt"
fi
run_wrk start_stop_mix "$api/api/v1/users/bench-u0/streams?wait=true" -s bench/start_stop_mix.lua

echo "== WebSocket, max rate (window $WS_WINDOW)"
"$bin/bench/streamgate-bench" --port "$api_port" --users "$WS_USERS" --connections "$WS_USERS" \
  --window "$WS_WINDOW" --duration "$WS_DURATION" --json >"$out/ws-max.json" || true
cat "$out/ws-max.json"
half=$(python3 -c 'import json,sys; print(max(1, int(json.load(open(sys.argv[1]))["throughput_per_s"] / 2)))' \
  "$out/ws-max.json" 2>/dev/null || echo 1000)
echo "== WebSocket, fixed rate $half/s"
"$bin/bench/streamgate-bench" --port "$api_port" --users "$WS_USERS" --connections "$WS_USERS" \
  --rate "$half" --duration "$WS_DURATION" --json >"$out/ws-rate.json" || true
cat "$out/ws-rate.json"
echo "== WebSocket, fixed rate 1000/s"
"$bin/bench/streamgate-bench" --port "$api_port" --users "$WS_USERS" --connections "$WS_USERS" \
  --rate 1000 --duration "$WS_DURATION" --json >"$out/ws-1000.json" || true
cat "$out/ws-1000.json"

echo "== the disk alone: 4 KiB appends, each synced, 1000/s (what a durable verdict waits on)"
python3 bench/fsync_probe.py "$tmp" 1000 4 >"$out/fsync.json" || true
cat "$out/fsync.json"

echo "== holding $HOLD_CONNECTIONS idle WebSockets"
rss_before=$(rss_kib "$api_pid")
"$bin/bench/streamgate-bench" --port "$api_port" --users "$BENCH_USERS" --hold "$HOLD_CONNECTIONS" \
  --hold-seconds 3 >"$out/hold.txt" 2>&1 &
hold_pid=$!; pids+=("$hold_pid")
for _ in $(seq 1 600); do
  grep -q '^holding' "$out/hold.txt" && break
  kill -0 "$hold_pid" 2>/dev/null || break
  sleep 0.1
done
rss_holding=$(rss_kib "$api_pid")
wait "$hold_pid" || true
cat "$out/hold.txt"
echo "api RSS: $rss_before KiB before, $rss_holding KiB holding" | tee -a "$out/hold.txt"
printf '{"rss_before_kib":%s,"rss_holding_kib":%s}\n' "$rss_before" "$rss_holding" >"$out/rss.json"

echo "== nginx ceiling (return 200, 1 worker)"
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 200 "ok\n"; }
  }
}
NGINX
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$out/nginx.log" &
pids+=("$!")
wait_http "http://127.0.0.1:$nginx_port/" 10
nginx_worker=$(pgrep -P "${pids[-1]}" | head -1 || true)  # its one worker process
cpu_pids=(); [ -n "$nginx_worker" ] && cpu_pids=("nginx=$nginx_worker")
run_wrk nginx "http://127.0.0.1:$nginx_port/"

echo "== microbenchmarks"
for b in core_bench codec_bench; do
  "$bin/bench/$b" --benchmark_min_time=0.3 --benchmark_format=console \
    --benchmark_out="$out/micro-$b.json" --benchmark_out_format=json 2>&1 | grep -E '^BM_' || true
done

echo "load average at end: $(loadavg)" | tee -a "$out/loadavg.txt"
python3 bench/summarize.py "$out"
