# Shell helpers of the bench scripts (sourced by run.sh, scale_out.sh, soak.sh, compare*.sh).

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {  # url, seconds
  for _ in $(seq 1 $(($2 * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}
# Installs the Debian packages of the commands that are missing: "command:package" pairs (the
# bench's tools are not the product's, so scripts/install-deps.sh leaves them out).
need_tools() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair#*:}")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, 10 ms ticks
# The same per thread name of a process ("name ticks" lines; threads of one name summed): the
# worker's deciding thread, its store's folding thread (sg-log-fold) and libzmq's.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(tr ' ' _ <"$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{ticks[$1] += $2} END {for (name in ticks) print name, ticks[name]}' | sort
}
# The machine's busy and idle ticks (all cores): busy is user, nice, system, irq, softirq, steal;
# idle is idle and iowait.
machine_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }
# Percent of all cores busy between two machine_ticks readings: a run far from 100 % is held up
# by waiting, not by CPU alone.
busy_percent() {  # "busy idle" before, "busy idle" after
  echo "$1 $2" | awk '{busy = $3 - $1; idle = $4 - $2; print (busy + idle ? int(100 * busy / (busy + idle)) : 0)}'
}
written_bytes() { awk '$1 == "write_bytes:" {print $2}' "/proc/$1/io"; }  # sent to the disk

# The workers' batches so far, from an api's /metrics: "count sum_of_sizes seconds_in_batches".
batch_totals() {  # api port
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    $1 == "streamgate_worker_batch_size_count" {n = $2}
    $1 == "streamgate_worker_batch_size_sum" {size = $2}
    $1 == "streamgate_worker_batch_seconds_sum" {secs = $2}
    END {printf "%d %d %f\n", n, size, secs}'
}

wait_for() {  # command...: up to 20 s until it succeeds
  for _ in $(seq 1 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out: $*" >&2
  return 1
}

# A redis-server as the product needs one: every write synced to its AOF before it is
# acknowledged (docs/design.md §8). Added to $pids.
start_redis() {  # dir port [cluster]
  mkdir -p "$1"
  local extra=()
  [ "${3:-}" = cluster ] && extra=(--cluster-enabled yes --cluster-config-file "$1/nodes.conf")
  redis-server --port "$2" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always \
    --dir "$1" --daemonize no "${extra[@]}" >"$1/redis.log" 2>&1 &
  pids+=($!)
  wait_for redis-cli -p "$2" ping
}

create_bench_users() {  # api port, count: bench-u0 .. bench-u<count-1>, maxStreams 1000 each
  python3 - "$1" "$2" <<'PY'
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
}

# A scratch directory $tmp and the list $pids of started processes, all stopped and removed on
# exit (an interrupt included).
start_scratch() {  # name
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap stop_scratch EXIT
  trap 'exit 130' INT TERM
}
stop_scratch() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}

# Runs run_one (defined by the caller: one run of the build it is given, printing its figures on
# one line) for builds[0] and builds[1], alternated for $rounds rounds, and prints each run's line
# with the printf format $row (round, build, then the figures), then each build's medians. The
# order flips every round, so neither build always runs on a machine warmed by the other; a drift
# of the shared machine's speed then hits both builds alike.
alternate_builds() {
  local results="$tmp/alternated" round i line fields col order
  for round in $(seq 1 "$rounds"); do
    order=(0 1)
    ((round % 2 == 0)) && order=(1 0)
    for i in "${order[@]}"; do
      line=$(run_one "${builds[$i]}")
      echo "$i $line" >>"$results"
      printf "$row" "$round" "${builds[$i]}" $line
    done
  done
  echo "== medians"
  fields=$(awk '{print NF; exit}' "$results")
  for i in 0 1; do
    local medians=()
    for col in $(seq 2 "$fields"); do
      medians+=("$(awk -v i="$i" -v col="$col" '$1 == i {print $col}' "$results" | sort -g |
        awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}')")
    done
    printf "$row" "" "${builds[$i]}" "${medians[@]}"
  done
}

# Starts build $1's worker (SQLite store in folder $2) and api on free loopback ports, as the
# compare scripts run them, waits until the api answers and creates $3 bench users. Sets $worker
# and $api (pids, also added to $pids) and $ap (the api's port).
start_build() {  # build, folder, users
  local rp ep
  rp=$(free_port); ep=$(free_port); ap=$(free_port)
  "$1/worker/streamgate-worker" --requests "tcp://127.0.0.1:$rp" --events "tcp://127.0.0.1:$ep" \
    --store "sqlite:$2/store.db" --catalog data/catalog.json \
    --lease-seconds 600 --log-level warn 2>"$2/worker.log" &
  worker=$!; pids+=("$worker")
  "$1/api/streamgate-api" --listen "127.0.0.1:$ap" --requests "tcp://127.0.0.1:$rp" \
    --events "tcp://127.0.0.1:$ep" --web-root web --start-rate 0 \
    --max-connections-per-address 0 --log-level warn 2>"$2/api.log" &
  api=$!; pids+=("$api")
  wait_http "http://127.0.0.1:$ap/health" 20
  create_bench_users "$ap" "$3"
}
stop_build() {  # what start_build started
  kill -TERM "$api" "$worker"
  wait "$api" "$worker" 2>/dev/null || true
}

# The compare scripts' arguments: BEFORE_BUILD AFTER_BUILD [ROUNDS] into $builds and $rounds,
# refused (exit 2) unless each build holds both programs; installs wrk when missing.
two_builds() {
  if (($# < 2)); then
    echo "usage: $0 BEFORE_BUILD AFTER_BUILD [ROUNDS]" >&2
    exit 2
  fi
  builds=("$1" "$2")
  rounds=${3:-3}
  local b program
  for b in "${builds[@]}"; do
    for program in api/streamgate-api worker/streamgate-worker; do
      [ -x "$b/$program" ] || { echo "$b/$program: no such program" >&2; exit 2; }
    done
  done
  need_tools wrk:wrk
}
