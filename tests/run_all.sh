#!/usr/bin/env bash
# Runs every test: installs what is missing, builds everything, runs all Bazel tests, then all of
# them again under AddressSanitizer with UndefinedBehaviorSanitizer, the concurrency tests under
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
# ThreadSanitizer runs the concurrency tests only, not every test, for two reasons. Time: a
# second instrumented build of everything costs what the ASan one does (about 40 minutes with its
# tests on 2 cores), which would take .ci/run past its 90 minutes. Debian's libraries: under TSan
# protobuf's map_field.h gives MapFieldBase two more members, so our generated code and Debian's
# libprotobuf disagree on its layout and parsing any map field crashes (the server loading a
# configuration with parameters or an ensemble, hence every end-to-end test, the LibTorch tests
# and the ensembles); and TSan reports races inside uninstrumented gRPC and Abseil (absl's
# GraphCycles under gRPC's own mutexes) in the gRPC client and service tests.
run tsan --config=tsan //batcher/... || status=1
# Model control swaps versions under requests. Its ensemble tests are left out here: parsing map
# fields (the ensembles' input_map / output_map) crashes under TSan, as explained above.
run tsan-model-control --config=tsan --test_filter=-*Ensemble* \
  //server/repository:retired_models_test //server/repository:model_control_test || status=1
# Shared-memory leases and the drain's counters, taken and given back across threads, and the
# thread that runs forward() under an execution timeout.
run tsan-core --config=tsan --test_filter=-*Ensemble* //server/shared_memory/... \
  //server/core:in_flight_counter_test //server/core:inference_core_shared_memory_test \
  //server/core:inference_core_test //models/torch/execution:timed_runner_test || status=1

# A fuzzing step: FUZZ_SECONDS (default 30) for each fuzzer, 60 s in all, from the seed corpus.
echo "[tests] fuzz: tests/fuzz/run_fuzzers.sh"
tests/fuzz/run_fuzzers.sh 2>&1 | tee "$log_dir/fuzz.log" | grep -vE '^(INFO|Loading|Analyzing)'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

passed=$(cat "$log_dir"/*.log | grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' || true)
failed=$(cat "$log_dir"/*.log | grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a build failure counts too
echo "$passed passed, $failed failed"
exit "$status"
