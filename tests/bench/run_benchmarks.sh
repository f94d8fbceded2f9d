#!/usr/bin/env bash
# Runs the benchmarks of DESIGN.md's performance table that need only a server and a client, and
# prints one table:
#   overhead    identity, 1 KiB tensor (256 FP32), 1 client: our p50 / the bare gRPC echo's p50
#               (target <= 1.3x)
#   throughput  identity, 1 KiB tensor, 64 clients: our inferences/s / the echo's (>= 0.7x)
#   FastPitch   the seed's tables on the repository's FastPitch: offline (1 client, batch 1, 2,
#               4, 8) and online (batch 1, concurrency 1..16)
# It builds with Bazel, starts speech_server on the default repository and tests/bench's
# echo_server on free ports, and drives both with client/perf/perf_analyzer. Progress goes to stderr.
#
# usage: tests/bench/run_benchmarks.sh [--quick] [--gpu] [--strict] [--bin-dir=DIR]
#                                      [--repository=DIR] [--out=DIR] [--python=PATH]
#   --quick          short windows (1 s, at most 5 per level) and online concurrency 1,2,4,8,16
#                    instead of 5 s windows, at most 10 per level, and concurrency 1..16
#   --gpu            serve a full-size fp16 repository on the GPU (made with
#                    models/export/make_repository.py --size full --dtype fp16 unless
#                    --repository names one) and add the "FastPitch full, 16 clients" check
#                    (>= 2000 inferences/s, p99 < 10 ms)
#   --strict         exit 1 when a target is missed (default: report only)
#   --bin-dir=DIR    use speech_server, perf_analyzer and echo_server from DIR; no Bazel build
#                    (for hosts without Bazel, such as the GPU host)
#   --repository=DIR serve this model repository instead of the default one
#   --out=DIR        keep the CSV files and latency charts here (default: a temporary folder)
#   --python=PATH    interpreter for the exporter in --gpu mode (default /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0 gpu=0 strict=0 bin_dir="" repository="" out_dir="" python=/usr/bin/python3
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --gpu) gpu=1 ;;
    --strict) strict=1 ;;
    --bin-dir=*) bin_dir=${arg#*=} ;;
    --repository=*) repository=${arg#*=} ;;
    --out=*) out_dir=${arg#*=} ;;
    --python=*) python=${arg#*=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_benchmarks.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "[bench] $*" >&2; }
work=$(mktemp -d)
out_dir=${out_dir:-$work}
mkdir -p "$out_dir"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# ------------------------------------------------------------------ binaries and repository
if [ -z "$bin_dir" ]; then
  log "building with Bazel"
  bazel build --noshow_progress //server:speech_server //client/perf:perf_analyzer \
    //tests/bench/echo:echo_server //models:default_repository >&2
  bin_dir_server=$(bazel info bazel-bin 2>/dev/null)
  server_bin=$bin_dir_server/server/speech_server
  analyzer_bin=$bin_dir_server/client/perf/perf_analyzer
  echo_bin=$bin_dir_server/tests/bench/echo/echo_server
  default_repository=$bin_dir_server/models/repository
else
  server_bin=$bin_dir/speech_server analyzer_bin=$bin_dir/perf_analyzer echo_bin=$bin_dir/echo_server
  default_repository=""
fi
if [ -z "$repository" ]; then
  if [ "$gpu" -eq 1 ]; then
    repository=$work/repository_full_fp16
    log "exporting the full-size fp16 repository to $repository"
    "$python" models/export/make_repository.py --out "$repository" --size full --dtype fp16 >&2
  else
    repository=$default_repository
  fi
fi
[ -n "$repository" ] || { log "no model repository: pass --repository=DIR"; exit 2; }

# start NAME LOG BINARY ARGS...: starts a server, waits for its "Started" line and sets
# started_target to its address.
start() {
  local name=$1 logfile=$2; shift 2
  "$@" --grpc-address=127.0.0.1 --grpc-port=0 >"$logfile" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    if grep -q "Started GRPCInferenceService at" "$logfile"; then
      started_target=$(grep -o "Started GRPCInferenceService at [^ ]*" "$logfile" | head -1 |
        awk '{print $4}')
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  log "$name did not start; its output:"; cat "$logfile" >&2
  return 1
}

log "starting speech_server on $repository"
start speech_server "$work/server.log" "$server_bin" --model-repository="$repository" \
  --metrics-address=127.0.0.1 --metrics-port=0 --http-address=127.0.0.1 --http-port=0
server=$started_target
log "speech_server at $server"
log "starting echo_server"
start echo_server "$work/echo.log" "$echo_bin"
echo_server=$started_target
log "echo_server at $echo_server"

if [ "$quick" -eq 1 ]; then
  window=(-p 1000 -r 5) online_levels=(1 2 4 8 16)
else
  window=(-p 5000 -r 10) online_levels=($(seq 1 16))
fi

# analyze NAME TARGET ARGS...: runs perf_analyzer, writing NAME.csv and NAME.svg in out_dir.
analyze() {
  local name=$1 target=$2; shift 2
  log "perf_analyzer $name: $* (-u $target)"
  "$analyzer_bin" -u "$target" "${window[@]}" -f "$out_dir/$name.csv" \
    --latency-chart="$out_dir/$name.svg" "$@" >"$out_dir/$name.txt"
}
# column FILE ROW NAME: the value of CSV column NAME in data row ROW (1-based) of FILE.
column() {
  awk -F, -v row="$2" -v name="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
    NR == row + 1 { print $c }' "$1"
}

identity=(-m identity --shape INPUT0:256)
analyze overhead_ours "$server" "${identity[@]}" --concurrency-range=1
analyze overhead_echo "$echo_server" "${identity[@]}" --concurrency-range=1
analyze throughput_ours "$server" "${identity[@]}" --concurrency-range=64
analyze throughput_echo "$echo_server" "${identity[@]}" --concurrency-range=64

# The seed's FastPitch tables: symbol sequences of 64 to 256 ids (varying lengths).
fastpitch=(-m fastpitch --length-range=64:256)
for batch in 1 2 4 8; do
  analyze "fastpitch_offline_b$batch" "$server" "${fastpitch[@]}" -b "$batch" --concurrency-range=1
done
for level in "${online_levels[@]}"; do
  analyze "fastpitch_online_c$level" "$server" "${fastpitch[@]}" --concurrency-range="$level"
done
if [ "$gpu" -eq 1 ]; then
  analyze fastpitch_gpu_c16 "$server" "${fastpitch[@]}" --concurrency-range=16
fi

# ------------------------------------------------------------------ the table
missed=0
check() {  # check LABEL OURS ECHO OP TARGET UNIT: one comparison row
  local label=$1 ours=$2 echo=$3 op=$4 target=$5 unit=$6
  local ratio verdict
  ratio=$(awk -v a="$ours" -v b="$echo" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  if awk -v r="$ratio" -v t="$target" -v op="$op" 'BEGIN { exit !(op == "<=" ? r <= t : r >= t) }'
  then verdict=ok; else verdict=MISSED; missed=1; fi
  printf "%-46s %12s %12s %8sx %9s %8s\n" "$label" "$ours $unit" "$echo $unit" "$ratio" \
    "$op ${target}x" "$verdict"
}
echo
echo "Benchmarks ($( [ "$quick" -eq 1 ] && echo quick || echo full ) mode; $(nproc) CPU cores; CSV and charts in $out_dir)"
printf "%-46s %12s %12s %9s %9s %8s\n" "benchmark" "ours" "echo" "ratio" "target" "result"
check "overhead: identity 1 KiB, 1 client, p50" \
  "$(column "$out_dir/overhead_ours.csv" 1 "p50 latency")" \
  "$(column "$out_dir/overhead_echo.csv" 1 "p50 latency")" "<=" 1.3 us
check "throughput: identity 1 KiB, 64 clients" \
  "$(column "$out_dir/throughput_ours.csv" 1 "Inferences/Second" | cut -d. -f1)" \
  "$(column "$out_dir/throughput_echo.csv" 1 "Inferences/Second" | cut -d. -f1)" ">=" 0.7 /s

table() {  # table TITLE LABEL FILES...: one row per CSV file
  local title=$1 label=$2; shift 2
  echo
  echo "$title"
  printf "%8s %12s %9s %9s %9s %9s %9s %9s %9s\n" "$label" "infer/s" "p50 ms" "p90 ms" "p95 ms" \
    "p99 ms" "avg ms" "queue ms" "infer ms"
  local file base
  for file in "$@"; do
    base=${file##*/}
    base=${base%.csv}
    awk -F, -v label="${base##*_[bc]}" 'NR == 2 {
      printf "%8s %12.1f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", label, $2, $10 / 1000,
        $11 / 1000, $12 / 1000, $13 / 1000, $14 / 1000, $5 / 1000, $7 / 1000 }' "$file"
  done
}
offline_files=() online_files=()
for batch in 1 2 4 8; do offline_files+=("$out_dir/fastpitch_offline_b$batch.csv"); done
for level in "${online_levels[@]}"; do online_files+=("$out_dir/fastpitch_online_c$level.csv"); done
table "FastPitch offline (1 client, pre-formed batches; infer/s counts rows)" batch \
  "${offline_files[@]}"
table "FastPitch online (batch 1, dynamic batching)" clients "${online_files[@]}"
if [ "$gpu" -eq 1 ]; then
  file=$out_dir/fastpitch_gpu_c16.csv
  throughput=$(column "$file" 1 "Inferences/Second") p99=$(column "$file" 1 "p99 latency")
  echo
  if awk -v t="$throughput" -v p="$p99" 'BEGIN { exit !(t >= 2000 && p < 10000) }'; then
    verdict=ok; else verdict=MISSED; missed=1; fi
  printf "FastPitch full fp16, 16 clients: %.1f infer/s (>= 2000), p99 %.2f ms (< 10): %s\n" \
    "$throughput" "$(awk -v p="$p99" 'BEGIN { print p / 1000 }')" "$verdict"
fi
if [ "$strict" -eq 1 ] && [ "$missed" -eq 1 ]; then exit 1; fi
exit 0
