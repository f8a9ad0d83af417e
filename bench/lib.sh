# Shell helpers of the bench scripts (sourced by run.sh, scale_out.sh, soak.sh).

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
