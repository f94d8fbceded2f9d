#!/usr/bin/env bash
# Builds the fuzz targets with --config=fuzz (clang, libFuzzer, ASan, UBSan) and runs each for a
# bounded time, starting from its seed corpus (read only: what a run adds goes to a scratch
# directory). Prints one line per fuzzer in the form of Bazel's test summary
# ("//tests/fuzz:NAME  PASSED in 30s", or FAILED), which tests/run_all.sh counts; on a crash also
# the fuzzer's report and where it left the input. Exits 1 when a fuzzer crashed or did not run.
# Usage: tests/fuzz/run_fuzzers.sh [SECONDS_PER_FUZZER]   (default: $FUZZ_SECONDS, else 30)
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-${FUZZ_SECONDS:-30}}
fuzzers=(infer_request_fuzzer infer_request_json_fuzzer)

if ! bazel build --noshow_progress --noshow_loading_progress --config=fuzz //tests/fuzz:fuzzers; then
  for fuzzer in "${fuzzers[@]}"; do echo "//tests/fuzz:$fuzzer  FAILED TO BUILD"; done
  exit 1
fi
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz
# Reports with files and lines: Debian's llvm-14 has the symbolizer only under a versioned name
# on PATH. UBSan reports abort (--config=fuzz); with their stack.
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
work=$(mktemp -d -t fuzz.XXXXXX)

status=0
for fuzzer in "${fuzzers[@]}"; do
  name=${fuzzer%_fuzzer}
  mkdir -p "$work/$name/new" "$work/$name/crashes"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -artifact_prefix="$work/$name/crashes/")
  if [ -f "tests/fuzz/$name.dict" ]; then options+=(-dict="tests/fuzz/$name.dict"); fi
  start=$(date +%s)
  "$bin/$fuzzer" "${options[@]}" "$work/$name/new" "tests/fuzz/corpus/$name" >"$work/$name.log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
  coverage=$(grep -oE 'cov: [0-9]+' "$work/$name.log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "[fuzz] $fuzzer: ${runs:-?} inputs in ${elapsed}s, ${coverage:-cov: ?}, no crash"
    echo "//tests/fuzz:$fuzzer  PASSED in ${elapsed}s"
  else
    # The sanitizer's or libFuzzer's report, and the input it saved ("Test unit written to").
    grep -vE '^#[0-9]+|^INFO: |^\[libprotobuf' "$work/$name.log" | tail -60
    echo "[fuzz] $fuzzer exited $rc; its log and the crashing input are under $work/$name"
    echo "[fuzz] replay: bazel run --config=asan //tests/fuzz:$fuzzer -- \$PWD/CRASH_FILE (then add it to" \
         "tests/fuzz/corpus/$name as a regression)"
    echo "//tests/fuzz:$fuzzer  FAILED in ${elapsed}s"
    status=1
  fi
done
if [ "$status" -eq 0 ]; then rm -rf "$work"; fi
exit "$status"
