#!/usr/bin/env bash
# The main job, from nothing: installs Debian's packages, builds the server and the client, makes
# the default model repository, starts the server, runs the client against every model and shows
# the results, then stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."

GRPC_PORT=${GRPC_PORT:-8001}
HTTP_PORT=${HTTP_PORT:-8000}
METRICS_PORT=${METRICS_PORT:-8002}

deploy/install_deps.sh
echo "[build] bazel build //server:speech_server //client/cli:speech_client //models:default_repository"
bazel build --noshow_progress //server:speech_server //client/cli:speech_client //models:default_repository 2>&1 \
  | grep -vE '^(INFO|Loading|Analyzing)' || true
test -x bazel-bin/server/speech_server || { echo "build failed"; exit 1; }

repository=bazel-bin/models/repository
log=$(mktemp /tmp/speech_server.XXXXXX.log)
echo "[server] starting on gRPC port $GRPC_PORT, HTTP port $HTTP_PORT, metrics port $METRICS_PORT (log: $log)"
bazel-bin/server/speech_server --model-repository="$repository" \
  --grpc-port="$GRPC_PORT" --http-port="$HTTP_PORT" --metrics-port="$METRICS_PORT" >"$log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q "Started GRPCInferenceService" "$log" && break
  kill -0 $server_pid 2>/dev/null || { cat "$log"; echo "the server exited"; exit 1; }
  sleep 0.1
done
sed 's/^/[server] /' "$log"

client() { echo; echo "\$ speech_client $*"; bazel-bin/client/cli/speech_client --url="localhost:$GRPC_PORT" "$@"; }
client health
client server-metadata
client index
client infer identity --length=256
client infer simple --int-range=-100,100
client infer fastpitch --length=64 --int-range=1,148 --repeat=20
client infer wav2vec2 --length=16000 --repeat=20
if [ "$HTTP_PORT" != 0 ]; then
  echo; echo "\$ curl -X POST localhost:$HTTP_PORT/v2/models/simple/infer -d '{\"inputs\": [...]}'"
  data=$(seq -s, 0 15)
  curl -s -X POST "localhost:$HTTP_PORT/v2/models/simple/infer" -H 'Content-Type: application/json' \
    -d "{\"inputs\": [{\"name\": \"INPUT0\", \"shape\": [1, 16], \"datatype\": \"INT32\", \"data\": [$data]},
                    {\"name\": \"INPUT1\", \"shape\": [1, 16], \"datatype\": \"INT32\", \"data\": [$data]}]}" \
    || true
  echo
fi
if [ "$METRICS_PORT" != 0 ] && curl -sf "localhost:$METRICS_PORT/metrics" >/dev/null 2>&1; then
  echo; echo "\$ curl localhost:$METRICS_PORT/metrics | grep nv_inference_request_success"
  curl -s "localhost:$METRICS_PORT/metrics" | grep '^nv_inference_request_success' || true
fi
echo; echo "[server] stopping"
