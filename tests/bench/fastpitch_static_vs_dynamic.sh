#!/usr/bin/env bash
# Dynamic batching against every static batch size, tiny FastPitch, 64 symbols per request
# (issue 11): offline batch 1, 2, 4 and 8 from one client, then 16 concurrent batch-1 clients,
# with our perf_analyzer against the real server (FastPitch alone, its default configuration).
# Prints perf_analyzer's rows (clients, infer/s, p50/p90/p95/p99/avg us, client send, network,
# queue, compute input/infer/output us, mean batch, errors), tagged.
# usage: tests/bench/fastpitch_static_vs_dynamic.sh [TAG]
#   The server inherits the environment: OMP_WAIT_POLICY / OPENBLAS_NUM_THREADS given here are
#   kept (the server sets PASSIVE / 1 only where they are unset). BENCH_SERVER_FLAGS adds flags
#   to the server's command line (e.g. "--malloc-arena-max=0 --heap-release-interval-ms=0").
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-server}

bench_name=static-vs-dynamic
# shellcheck source=tests/bench/bench_common.sh
source tests/bench/bench_common.sh
bench_start_work ""
bench_build_binaries
bench_start_server "$bench_work/server.log" "$bench_default_repository" \
  --model-control-mode=explicit --load-model=fastpitch ${BENCH_SERVER_FLAGS:-}
common=(-m fastpitch -u "$bench_grpc" --length=64 -p 3000 -r 6)
for batch in 1 2 4 8; do
  bench_log "offline batch $batch"
  "$bench_analyzer_bin" "${common[@]}" --concurrency-range=1 -b "$batch" 2>/dev/null |
    grep -E '^ *[0-9]' | sed "s/^/$tag offline b$batch: /"
done
bench_log "16 clients"
"$bench_analyzer_bin" "${common[@]}" --concurrency-range=16 2>/dev/null |
  grep -E '^ *[0-9]' | sed "s/^/$tag c16: /"
