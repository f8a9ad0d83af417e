#!/usr/bin/env bash
# The ?wait=true start path on the stores side by side, in one run (README "Scaling out"):
# SQLite with 1 worker, Redis with 1 worker, Redis with 2 workers; always one api, wrk as in
# bench/run.sh. Redis runs as Debian's redis-server with AOF (appendfsync always, like the
# SQLite store's synchronous=FULL), on loopback. Prints one line per setup and the CPU each
# process used, which says where the limit is.
set -euo pipefail
cd "$(dirname "$0")/.."

WRK_CONNECTIONS=${WRK_CONNECTIONS:-50}
WRK_DURATION=${WRK_DURATION:-8s}
BENCH_USERS=${BENCH_USERS:-1000}
export BENCH_USERS
bin=build/bench
out=bench/out
mkdir -p "$out"

cmake --preset bench >/dev/null
cmake --build --preset bench --target streamgate-worker streamgate-api >/dev/null

tmp=$(mktemp -d /tmp/streamgate-scale.XXXXXX)
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_for() {  # command...
  for _ in $(seq 1 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out: $*" >&2
  return 1
}

# setup name, store, workers
run_setup() {
  local name=$1 store=$2 workers=$3 redis_pid="" worker_pids=() endpoints=()
  if [ "$store" = redis ]; then
    local redis_port; redis_port=$(free_port)
    mkdir -p "$tmp/$name"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes \
      --appendfsync always --dir "$tmp/$name" --daemonize no >"$tmp/$name/redis.log" 2>&1 &
    redis_pid=$!; pids+=("$redis_pid")
    wait_for redis-cli -p "$redis_port" ping
    store="redis://127.0.0.1:$redis_port"
  else
    store="sqlite:$tmp/$name.db"
  fi
  for _ in $(seq 1 "$workers"); do
    local rq ev; rq=$(free_port); ev=$(free_port)
    "$bin/worker/streamgate-worker" --requests "tcp://127.0.0.1:$rq" --events "tcp://127.0.0.1:$ev" \
      --store "$store" --catalog data/catalog.json --lease-seconds 600 --log-level warn \
      2>>"$tmp/worker.log" &
    worker_pids+=($!); pids+=($!)
    endpoints+=(--requests "tcp://127.0.0.1:$rq" --events "tcp://127.0.0.1:$ev")
  done
  local api_port; api_port=$(free_port)
  "$bin/api/streamgate-api" --listen "127.0.0.1:$api_port" "${endpoints[@]}" --web-root web \
    --log-level warn 2>>"$tmp/api.log" &
  local api_pid=$!; pids+=("$api_pid")
  wait_for curl -sf "http://127.0.0.1:$api_port/health"
  python3 - "$api_port" "$BENCH_USERS" <<'PY'
import http.client, json, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(count):
    c.request("POST", "/api/v1/users", json.dumps({"id": f"bench-u{i}", "name": f"Bench {i}", "maxStreams": 1000}),
              {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status not in (201, 409):
        sys.exit(f"creating bench-u{i}: HTTP {r.status}")
PY
  local watched=("$api_pid" "${worker_pids[@]}" ${redis_pid:+"$redis_pid"}) before=() after=()
  for pid in "${watched[@]}"; do before+=("$(cpu_ticks "$pid")"); done
  local started; started=$(date +%s.%N)
  wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency -s bench/start_wait.lua \
    "http://127.0.0.1:$api_port/api/v1/users/bench-u0/streams?wait=true" >"$out/scale-$name.txt" 2>&1
  local ended; ended=$(date +%s.%N)
  for pid in "${watched[@]}"; do after+=("$(cpu_ticks "$pid")"); done
  local rps p99 cpu=""
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/scale-$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out/scale-$name.txt")
  local labels=(api)
  for i in "${!worker_pids[@]}"; do labels+=("worker$((i + 1))"); done
  [ -n "$redis_pid" ] && labels+=(redis)
  for i in "${!watched[@]}"; do
    cpu+=$(awk -v a="${before[$i]}" -v b="${after[$i]}" -v s="$started" -v e="$ended" -v l="${labels[$i]}" \
      'BEGIN { printf " %s %.2f", l, (b - a) / 100 / (e - s) }')
  done
  printf '%-16s %10s req/s  p99 %-8s cores:%s\n' "$name" "$rps" "$p99" "$cpu" | tee -a "$out/scale-out.txt"
  stop_all
}

: >"$out/scale-out.txt"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/scale-out.txt"
run_setup sqlite-1w sqlite 1
run_setup redis-1w redis 1
run_setup redis-2w redis 2
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/scale-out.txt"
