#!/usr/bin/env bash
# Dynamic batching against every static batch size, tiny FastPitch, 64 symbols per request
# (issue 11): offline batch 1, 2, 4 and 8 from one client, then 16 concurrent batch-1 clients,
# with our perf_analyzer against the real server (FastPitch alone, its default configuration).
# Prints perf_analyzer's rows (clients, infer/s, p50/p90/p95/p99/avg us, client send, network,
# queue, compute input/infer/output us, mean batch, errors), tagged.
# usage: tests/bench/fastpitch_static_vs_dynamic.sh [TAG] [-- SERVER-FLAGS...]
#   The server inherits the environment: OMP_WAIT_POLICY / OPENBLAS_NUM_THREADS given here are
#   kept (the server sets PASSIVE / 1 only where they are unset).
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-server}
shift || true
[ "${1:-}" = "--" ] && shift
echo "[static-vs-dynamic] building speech_server, perf_analyzer and the default models" >&2
bazel build --noshow_progress --noshow_loading_progress //server:speech_server \
  //client/perf:perf_analyzer //models:default_repository >/dev/null 2>&1
work=$(mktemp -d)
bin=$(bazel info bazel-bin 2>/dev/null)
cp "$bin/server/speech_server" "$bin/client/perf/perf_analyzer" "$work/"
cp -r "$bin/models/repository" "$work/repo" && chmod -R u+w "$work/repo"
"$work/speech_server" --model-repository="$work/repo" --model-control-mode=explicit \
  --load-model=fastpitch --grpc-port=0 --http-port=0 --metrics-port=0 >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
port=""
for _ in $(seq 120); do
  port=$(sed -n 's/^Started GRPCInferenceService at .*:\([0-9][0-9]*\)$/\1/p' "$work/server.log" | head -1)
  [ -n "$port" ] && break
  sleep 1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; echo "server did not start" >&2; exit 1; }
common=(-m fastpitch -u "127.0.0.1:$port" --length=64 -p 3000 -r 6)
for batch in 1 2 4 8; do
  echo "[static-vs-dynamic] offline batch $batch" >&2
  "$work/perf_analyzer" "${common[@]}" --concurrency-range=1 -b "$batch" 2>/dev/null |
    grep -E '^ *[0-9]' | sed "s/^/$tag offline b$batch: /"
done
echo "[static-vs-dynamic] 16 clients" >&2
"$work/perf_analyzer" "${common[@]}" --concurrency-range=16 2>/dev/null |
  grep -E '^ *[0-9]' | sed "s/^/$tag c16: /"
