#!/usr/bin/env bash
# Runs every test: installs what is missing, builds everything, runs all Bazel tests, then the
# concurrency tests again under ThreadSanitizer. Ends with one "N passed, N failed" line.
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
run tsan --config=tsan //batcher/... || status=1
# Model control swaps versions under requests. Its ensemble tests are left out here: Debian's
# libprotobuf, built without ThreadSanitizer, crashes under it when parsing map fields (the
# ensembles' input_map / output_map).
run tsan-model-control --config=tsan --test_filter=-*Ensemble* \
  //server/repository:retired_models_test //server/repository:model_control_test || status=1
# Shared-memory leases and the drain's counters, taken and given back across threads.
run tsan-core --config=tsan --test_filter=-*Ensemble* //server/shared_memory/... \
  //server/core:in_flight_counter_test //server/core:inference_core_shared_memory_test \
  //server/core:inference_core_test || status=1

passed=$(cat "$log_dir"/*.log | grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' || true)
failed=$(cat "$log_dir"/*.log | grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a build failure counts too
echo "$passed passed, $failed failed"
exit "$status"
