#!/usr/bin/env python3
"""Reads what bench/run.sh left in its output directory, prints the table, writes results.json."""
import json
import os
import re
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench/out"


def read(name):
    path = os.path.join(out, name)
    return open(path).read() if os.path.exists(path) else ""


def load(name):
    try:
        return json.loads(read(name).strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(name):
    text = read(f"wrk-{name}.txt")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rps:
        return None
    result = {"requests_per_s": float(rps.group(1))}
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M)
        if m:
            result[key] = to_ms(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors: (.*)", text)
    result["socket_errors"] = errors.group(1) if errors else ""
    result["statuses"] = {m.group(1): int(m.group(2)) for m in re.finditer(r"status (\d+): (\d+)", text)}
    # CPU per request of each process over the same run (bench/run.sh's run_wrk), in µs.
    result["cpu_us_per_request"] = {
        process: int(ns) / 1e3
        for process, ns in (line.split() for line in read(f"cpu-{name}.txt").splitlines() if line.strip())}
    # The worker's share by thread (its deciding thread, its store's, libzmq's), in µs.
    result["worker_threads_us_per_request"] = {
        thread: int(ns) / 1e3
        for thread, ns in (line.split() for line in read(f"threads-{name}.txt").splitlines() if line.strip())}
    # How busy the whole machine was over the run, in percent of all its cores.
    busy = read(f"busy-{name}.txt").strip()
    if busy:
        result["machine_busy_percent"] = int(busy)
    return result


def micro(name):
    try:
        data = json.loads(read(f"micro-{name}.json"))
    except ValueError:
        return {}
    return {b["name"]: b.get("items_per_second") for b in data.get("benchmarks", [])}


results = {
    "loadavg": read("loadavg.txt").strip().splitlines(),
    "wrk": {n: wrk(n) for n in ("health", "authorize", "start_wait", "start_stop_mix", "nginx")},
    "ws_max": load("ws-max.json"),
    "ws_rate": load("ws-rate.json"),
    "ws_1000": load("ws-1000.json"),
    "fsync": load("fsync.json"),
    "hold": read("hold.txt").strip().splitlines(),
    "rss": load("rss.json"),
    "micro": {n: micro(n) for n in ("core_bench", "codec_bench")},
}
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)

ceiling = (results["wrk"]["nginx"] or {}).get("requests_per_s")
rows = []


def row(figure, value, unit, rate=None):
    ratio = f"{rate / ceiling:.2f}" if rate and ceiling else "-"
    rows.append((figure, f"{value:,.0f} {unit}" if isinstance(value, (int, float)) else value, ratio))


for name, label in (("nginx", "nginx return 200 (ceiling)"), ("health", "GET /health"),
                    ("authorize", "GET playback/authorize (live token)"),
                    ("start_wait", "POST streams?wait=true"), ("start_stop_mix", "start+stop mix (REST)")):
    w = results["wrk"][name]
    if not w:
        rows.append((label, "n/a", "-"))
        continue
    row(label, w["requests_per_s"], "req/s", w["requests_per_s"])
    extra = f"p50 {w.get('p50_ms', 0):.2f} ms, p99 {w.get('p99_ms', 0):.2f} ms"
    if w["non_2xx"] or w["socket_errors"]:
        extra += f", non-2xx {w['non_2xx']}"
        if w["socket_errors"]:
            extra += f", socket errors {w['socket_errors']}"
    rows.append(("  latency (wrk)", extra, ""))
    cpu = w["cpu_us_per_request"]
    if cpu:
        rows.append(("  CPU per request", ", ".join(f"{p} {us:.1f} µs" for p, us in cpu.items()), ""))
    threads = w["worker_threads_us_per_request"]
    if threads and name in ("start_wait", "start_stop_mix"):
        rows.append(("  worker by thread", ", ".join(
            f"{t} {us:.1f} µs" for t, us in sorted(threads.items(), key=lambda kv: -kv[1])), ""))
    if "machine_busy_percent" in w:
        rows.append(("  machine busy", f"{w['machine_busy_percent']} % of all cores", ""))
health_cpu = ((results["wrk"]["health"] or {}).get("cpu_us_per_request") or {}).get("api")
start_cpu = ((results["wrk"]["start_wait"] or {}).get("cpu_us_per_request") or {}).get("api")
if health_cpu and start_cpu:
    rows.append(("api CPU, ?wait=true start / GET /health", f"{start_cpu / health_cpu:.2f} x", "-"))
for key, label in (("ws_max", "WebSocket starts, max rate"), ("ws_rate", "WebSocket starts, fixed rate"),
                   ("ws_1000", "WebSocket starts, fixed rate")):
    ws = results[key]
    if not ws:
        rows.append((label, "n/a", "-"))
        continue
    if key != "ws_max":
        label += f" {ws['rate']:.0f}/s"
    row(label, ws["throughput_per_s"], "verdicts/s", ws["throughput_per_s"])
    lat = ws["latency"]
    rows.append(("  latency (send->verdict)",
                 f"p50 {lat['p50_us'] / 1e3:.2f} ms, p99 {lat['p99_us'] / 1e3:.2f} ms, "
                 f"p99.9 {lat['p999_us'] / 1e3:.2f} ms, max {lat['max_us'] / 1e3:.2f} ms"
                 + (f", lost {ws['lost']}, errors {ws['errors']}" if ws["lost"] or ws["errors"] else ""), ""))
fsync = results["fsync"]
rows.append((f"disk: 4 KiB append + fdatasync, {fsync['rate']:.0f}/s" if fsync else "disk: fdatasync",
             f"p50 {fsync['p50_us'] / 1e3:.2f} ms, p99 {fsync['p99_us'] / 1e3:.2f} ms, "
             f"max {fsync['max_us'] / 1e3:.2f} ms" if fsync else "n/a", "-"))
rss = results["rss"]
held = re.search(r"held (\d+) of (\d+)", " ".join(results["hold"]))
if rss and held and int(held.group(1)) > 0:
    n = int(held.group(1))
    delta = rss["rss_holding_kib"] - rss["rss_before_kib"]
    rows.append((f"api RSS, {n} idle WebSockets", f"{rss['rss_holding_kib'] / 1024:.1f} MiB "
                 f"(+{delta / 1024:.1f} MiB, {delta / n:.1f} KiB/conn)", "-"))
else:
    rows.append(("api RSS, idle WebSockets", "n/a: " + " ".join(results["hold"])[:60], "-"))
for bench, items in results["micro"].items():
    for name, ips in items.items():
        if ips:
            rows.append((f"{bench}: {name}", f"{ips / 1e6:.2f} M items/s", "-"))

width = max(len(r[0]) for r in rows)
vwidth = max(len(r[1]) for r in rows)
print(f"\n{'figure':<{width}}  {'value':<{vwidth}}  ratio to nginx")
for figure, value, ratio in rows:
    print(f"{figure:<{width}}  {value:<{vwidth}}  {ratio}")
print("\n" + "\n".join(results["loadavg"]))
print(f"results: {os.path.join(out, 'results.json')}")
