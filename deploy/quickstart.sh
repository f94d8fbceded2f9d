#!/usr/bin/env bash
# The main job, from nothing: installs Debian's packages, builds the server and the client, makes
# the default model repository, starts the server, runs the client against every model and shows
# the results (the tts and asr pipelines write theirs under $RESULTS_DIR, default
# /tmp/speech_quickstart), then stops the server.
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

client() {  # shows the command (arguments with spaces in quotes), then runs it
  local shown="" arg
  for arg in "$@"; do case "$arg" in *" "*) shown+=" \"$arg\"" ;; *) shown+=" $arg" ;; esac; done
  echo; echo "\$ speech_client$shown"
  bazel-bin/client/cli/speech_client --url="localhost:$GRPC_PORT" "$@"
}
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

# The speech pipelines (Triton ensembles): tts speaks a sentence into a WAV and a picture of its
# mel spectrogram; asr transcribes espeak-ng's reading of another sentence (and tts's audio). Each
# is skipped, with one line, while the server does not serve that model ready.
results=${RESULTS_DIR:-/tmp/speech_quickstart}
mkdir -p "$results"
model_ready() { bazel-bin/client/cli/speech_client --url="localhost:$GRPC_PORT" ready "$1" >/dev/null 2>&1; }
made=()
if model_ready tts; then
  client tts "Turn left at the next corner." --out="$results/tts.wav" --mel-png="$results/tts_mel.png"
  made+=("$results/tts.wav" "$results/tts_mel.png")
else
  echo; echo "[tts] skipped: the server has no ready model \"tts\" yet (speech_client ready tts: not ready)"
fi
if model_ready asr; then
  espeak-ng -w "$results/espeak.wav" "Please call Stella and ask her to bring these things with her."
  sox "$results/espeak.wav" -r 16000 -c 1 -b 16 "$results/espeak_16k.wav"
  heard=("$results/espeak_16k.wav")
  if [ ${#made[@]} -gt 0 ]; then  # tts spoke in this run: hear it back
    sox "$results/tts.wav" -r 16000 -c 1 -b 16 "$results/tts_16k.wav"
    heard+=("$results/tts_16k.wav")
  fi
  client asr "${heard[@]}"
  made+=("$results/espeak.wav" "${heard[@]}")
else
  echo; echo "[asr] skipped: the server has no ready model \"asr\" yet (speech_client ready asr: not ready)"
fi
if [ ${#made[@]} -gt 0 ]; then
  echo; echo "[results] in $results (the default models' weights are random: noise and nonsense):"
  for file in "${made[@]}"; do echo "  $file"; done
fi
echo; echo "[server] stopping"
