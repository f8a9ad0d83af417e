#!/usr/bin/env bash
# The ?wait=true start path on the stores side by side, in one run (README "Scaling out"):
# SQLite with 1 worker; Redis with 1 and 2 workers; a Redis Cluster of 3 masters with 1 and 2
# workers; always one api, wrk as in bench/run.sh. Redis runs as Debian's redis-server with AOF
# (appendfsync always, like the SQLite store's synchronous=FULL), on loopback. Prints one line
# per setup: req/s, p99, and the CPU each process spent per decision (from /proc ticks over the
# wrk run); for Redis also the CPU that server spends per SET under `redis-benchmark -c 50 -t set`
# right after, on the same server (the issue's yardstick: a decision should cost Redis no more).
# Also, with one worker, its batches over the run (how many decisions share a commit, how long
# each took, and how much of the run the worker spent inside one: near 100 % with the machine
# far from busy means the path is bound by its round trips, not by CPU), and for Redis what each
# command cost per decision (bench/out/scale-<setup>-commands.txt, from INFO commandstats summed
# over the nodes; EVALSHA's time includes that of the commands its script ran, which are listed
# too).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

WRK_CONNECTIONS=${WRK_CONNECTIONS:-50}
WRK_DURATION=${WRK_DURATION:-8s}
BENCH_USERS=${BENCH_USERS:-1000}
export BENCH_USERS
# BENCH_BIN: a build directory whose programs to run as they are (a before/after comparison).
bin=${BENCH_BIN:-build/bench}
out=bench/out
mkdir -p "$out"
need_tools wrk:wrk redis-server:redis-server redis-benchmark:redis-tools

if [ -z "${BENCH_BIN:-}" ]; then
  cmake --preset bench >/dev/null
  cmake --build --preset bench --target streamgate-worker streamgate-api >/dev/null
fi

tmp=$(mktemp -d /tmp/streamgate-scale.XXXXXX)
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT
# A cluster node's bus listens on its port + 10000, so cluster ports stay below 55000.
free_low_port() {
  local p; while p=$(free_port); [ "$p" -ge 55000 ]; do :; done; echo "$p"
}

# setup name, store (sqlite|redis|cluster), workers; SCALE_ONLY="sqlite-1w redis-1w" runs those
run_setup() {
  local name=$1 kind=$2 workers=$3 store redis_pids=() redis_ports=() worker_pids=() endpoints=()
  if [ -n "${SCALE_ONLY:-}" ] && [[ " $SCALE_ONLY " != *" $name "* ]]; then return 0; fi
  if [ "$kind" = sqlite ]; then
    store="sqlite:$tmp/$name.db"
  else
    local nodes=1; [ "$kind" = cluster ] && nodes=3
    for n in $(seq 1 "$nodes"); do
      local port; port=$(free_low_port)
      start_redis "$tmp/$name/node$n" "$port" "$kind"
      redis_pids+=("${pids[-1]}"); redis_ports+=("$port")
    done
    if [ "$kind" = cluster ]; then
      local addrs=(); for p in "${redis_ports[@]}"; do addrs+=("127.0.0.1:$p"); done
      redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
      for p in "${redis_ports[@]}"; do
        wait_for sh -c "redis-cli -p $p cluster info | grep -q cluster_state:ok"
      done
    fi
    store="redis://$(IFS=,; echo "${redis_ports[*]/#/127.0.0.1:}")"
  fi
  for _ in $(seq 1 "$workers"); do
    local rq ev; rq=$(free_port); ev=$(free_port)
    "$bin/worker/streamgate-worker" --requests "tcp://127.0.0.1:$rq" --events "tcp://127.0.0.1:$ev" \
      --store "$store" --catalog data/catalog.json --seed --lease-seconds 600 --log-level warn \
      2>>"$tmp/worker.log" &
    worker_pids+=($!); pids+=($!)
    endpoints+=(--requests "tcp://127.0.0.1:$rq" --events "tcp://127.0.0.1:$ev")
  done
  local api_port; api_port=$(free_port)
  "$bin/api/streamgate-api" --listen "127.0.0.1:$api_port" "${endpoints[@]}" --web-root web \
    --start-rate 0 --log-level warn 2>>"$tmp/api.log" &
  local api_pid=$!; pids+=("$api_pid")
  wait_for curl -sf "http://127.0.0.1:$api_port/health"
  create_bench_users "$api_port" "$BENCH_USERS"
  local watched=("$api_pid" "${worker_pids[@]}" "${redis_pids[@]}") before=() after=()
  for port in "${redis_ports[@]}"; do redis-cli -p "$port" config resetstat >/dev/null; done
  local batches_before batches
  batches_before=$(batch_totals "$api_port")
  local machine_before machine_after; machine_before=$(machine_ticks)
  for pid in "${watched[@]}"; do before+=("$(cpu_ticks "$pid")"); done
  local written_before; written_before=$(written_bytes "${worker_pids[0]}")
  wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency -s bench/start_wait.lua \
    "http://127.0.0.1:$api_port/api/v1/users/bench-u0/streams?wait=true" >"$out/scale-$name.txt" 2>&1
  for pid in "${watched[@]}"; do after+=("$(cpu_ticks "$pid")"); done
  local written=$(($(written_bytes "${worker_pids[0]}") - written_before))
  batches=$(batch_totals "$api_port")
  machine_after=$(machine_ticks)
  local rps p99 requests per=""
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/scale-$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out/scale-$name.txt")
  requests=$(awk '/requests in/ {print $1}' "$out/scale-$name.txt")
  # CPU per decision in microseconds: ticks are 10 ms; Redis nodes summed.
  local labels=(api) redis_ticks=0
  for i in "${!worker_pids[@]}"; do labels+=("worker$((i + 1))"); done
  for i in "${!watched[@]}"; do
    local d=$((after[i] - before[i]))
    if [ "$i" -ge "${#labels[@]}" ]; then redis_ticks=$((redis_ticks + d)); continue; fi
    per+=$(awk -v d="$d" -v n="$requests" -v l="${labels[$i]}" 'BEGIN { printf " %s %.1f", l, d * 10000 / n }')
  done
  [ "${#redis_pids[@]}" -gt 0 ] &&
    per+=$(awk -v d="$redis_ticks" -v n="$requests" 'BEGIN { printf " redis %.1f", d * 10000 / n }')
  # Over the wrk run only. An api's /metrics carries the batches of the one worker its scrape
  # reached, so they are shown for one worker only.
  local batch_line
  batch_line="  machine $(busy_percent "$machine_before" "$machine_after") % busy"
  [ "$workers" -eq 1 ] &&
    batch_line+=$(echo "$batches_before $batches" | awk -v secs="${WRK_DURATION%s}" '{
      n = $4 - $1; size = $5 - $2; t = $6 - $3
      if (n > 0) printf ", batches: %.1f decisions, %.2f ms each, in one %.0f %% of the run", size / n, t * 1000 / n, t * 100 / secs }')
  if [ "${#redis_pids[@]}" -gt 0 ]; then
    for port in "${redis_ports[@]}"; do redis-cli -p "$port" info commandstats; done |
      awk -F'[:,=]' -v n="$requests" '/^cmdstat_/ {calls[$1] += $3; usec[$1] += $5}
        END {for (c in calls) printf "%-26s %6.2f calls %8.2f us per decision\n", substr(c, 9), calls[c] / n, usec[c] / n}' |
      sort -k4 -nr >"$out/scale-$name-commands.txt"
  fi
  local set_line=""
  # What an SQLite worker writes to its disk (log, folds, checkpoints) per decision.
  [ "$kind" = sqlite ] &&
    set_line=$(awk -v d="$written" -v n="$requests" 'BEGIN { printf "  disk KB written %.1f", d / 1024 / n }')
  if [ "${#redis_pids[@]}" -gt 0 ]; then
    # The same server (its first node) under redis-benchmark: CPU per SET, same run.
    local sets=200000 b a flags=()
    [ "$kind" = cluster ] && flags=(--cluster)
    b=$(cpu_ticks "${redis_pids[0]}")
    [ "$kind" = cluster ] && for pid in "${redis_pids[@]:1}"; do b=$((b + $(cpu_ticks "$pid"))); done
    redis-benchmark -p "${redis_ports[0]}" "${flags[@]}" -c 50 -t set -n "$sets" -q >"$out/scale-$name-set.txt" 2>&1
    a=$(cpu_ticks "${redis_pids[0]}")
    [ "$kind" = cluster ] && for pid in "${redis_pids[@]:1}"; do a=$((a + $(cpu_ticks "$pid"))); done
    set_line=$(awk -v d="$((a - b))" -v n="$sets" 'BEGIN { printf "  redis per SET %.1f", d * 10000 / n }')
  fi
  printf '%-12s %9s req/s  p99 %-8s us CPU per decision:%s%s%s\n' "$name" "$rps" "$p99" "$per" "$set_line" "$batch_line" |
    tee -a "$out/scale-out.txt"
  stop_all
}

: >"$out/scale-out.txt"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/scale-out.txt"
run_setup sqlite-1w sqlite 1
run_setup redis-1w redis 1
run_setup redis-2w redis 2
run_setup cluster-1w cluster 1
run_setup cluster-2w cluster 2
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/scale-out.txt"
