#!/usr/bin/env bash
# Runs every test: installs what is missing, builds everything, runs all Bazel tests, then all of
# them again under AddressSanitizer with UndefinedBehaviorSanitizer, all again under
# ThreadSanitizer, and the request fuzzers for a bounded time. Ends with one "N passed, N failed"
# line (each fuzzer counts as one test).
set -uo pipefail
cd "$(dirname "$0")/.."
deploy/install_deps.sh || exit 1

log_dir=$(mktemp -d)
run() {  # run NAME BAZEL-ARGS...: one bazel test invocation, its summary kept for the count
  local name=$1; shift
  echo "[tests] $name: bazel test $*"
  bazel test --noshow_progress --noshow_loading_progress --test_summary=short "$@" 2>&1 | tee "$log_dir/$name.log" \
    | grep -vE '^(INFO|Loading|Analyzing|\[[0-9,]+ / [0-9,]+\])'
  return "${PIPESTATUS[0]}"
}

status=0
run all //... || status=1
# Every unit and integration test again under ASan, UBSan and LeakSanitizer (.bazelrc explains the
# options); the end-to-end tests run the server binary built the same way. Only what the tests
# need is built (--build_tests_only): the benchmarks and tools are not. Nothing is left out.
run asan --config=asan --build_tests_only //... || status=1
# Every unit and integration test again under ThreadSanitizer, the end-to-end tests with a server
# built the same way. Debian's libraries are not instrumented; what that takes is in .bazelrc
# (headers that match the libraries) and tests/sanitizers (Abseil's mutexes made visible, and
# what happens inside gRPC, OpenSSL and LibTorch left unchecked).
run tsan --config=tsan --build_tests_only //... || status=1

# A fuzzing step: FUZZ_SECONDS (default 30) for each fuzzer, 60 s in all, from the seed corpus.
echo "[tests] fuzz: tests/fuzz/run_fuzzers.sh"
tests/fuzz/run_fuzzers.sh 2>&1 | tee "$log_dir/fuzz.log" | grep -vE '^(INFO|Loading|Analyzing)'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

passed=$(cat "$log_dir"/*.log | grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' || true)
failed=$(cat "$log_dir"/*.log | grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a build failure counts too
echo "$passed passed, $failed failed"
exit "$status"
