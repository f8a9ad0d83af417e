#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset `asan`: clang, ASan + UBSan) and runs each for a bounded
# time from its seed corpus in tests/fuzz/corpus/. Usage: scripts/fuzz.sh [seconds per harness]
# The preset compiles everything with libFuzzer's coverage hooks (-fsanitize=fuzzer-no-link), so
# that one build serves the harnesses and the sanitized tests (.ci/run): outside a harness the
# hooks only count, and compiling the api once less saves CI minutes.
# UBSan's pointer-overflow check is off in the sanitizer presets: RapidJSON 1.1's internal stack
# adds an offset to a null pointer on every parse (harmless, fixed upstream after 1.1).
# UBSan's function check is off too: clang 14 cannot compile it into the api's coroutines ("Cannot
# represent a difference across sections"). Line tables are all a stack trace needs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"

cmake --preset asan >/dev/null
cmake --build --preset asan --target fuzz_codec fuzz_worker_message fuzz_wire fuzz_http

# One harness per core at a time: each is a single process.
jobs=$(nproc)
run_harness() {
  local harness=$1 work="build/asan/fuzz/corpus/$1" log="build/asan/fuzz/$1.log"
  # An HTTP input must be able to reach the 8 KiB header and 16 KiB body limits.
  local max_len=4096
  [ "$harness" = http ] && max_len=32768
  mkdir -p "$work"
  if ! "build/asan/tests/fuzz/fuzz_$harness" -max_total_time="$seconds" -max_len="$max_len" \
      -artifact_prefix="build/asan/fuzz/$harness-" -print_final_stats=1 "$work" \
      "tests/fuzz/corpus/$harness" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz_$harness found a failure (input saved as build/asan/fuzz/$harness-crash-*)"
    return 1
  fi
  echo "fuzz_$harness: ${seconds}s, $(grep -E "^stat::number_of_executed_units" "$log")"
}

running=()
failed=0
for harness in codec worker_message wire http; do
  run_harness "$harness" & running+=($!)
  if (( ${#running[@]} >= jobs )); then
    wait "${running[0]}" || failed=1
    running=("${running[@]:1}")
  fi
done
for pid in "${running[@]}"; do wait "$pid" || failed=1; done
exit "$failed"
