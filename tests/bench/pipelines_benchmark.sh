#!/usr/bin/env bash
# The speech pipelines through the real server: `tts` (TEXT -> AUDIO, text front-end ->
# FastPitch -> HiFi-GAN) and `asr` (AUDIO -> TRANSCRIPT, wav2vec 2.0 -> CTC decoder) of the
# default repository (tiny models, random weights, CPU instances), each at 1 and at 16
# concurrent clients (perf_analyzer --concurrency-range=C), on espeak-ng's voice commands:
#   tts   the sentences as TEXT (perf_analyzer's JSON input data)
#   asr   espeak-ng speaking the same sentences, 16 kHz mono WAV files
# For each run: inferences/s, latency (p50, p99), and the real-time factor, seconds of audio per
# second: per wall-clock second (audio made or heard per second, the pipeline's throughput) and
# per second of compute (the audio over the time the steps' instances were busy, summed over
# steps). Audio per request is the set's mean (perf_analyzer cycles the set in order, so every
# entry is sent about equally often): for tts the length of each sentence's audio, spoken once
# by speech_client before the runs; for asr the length of each file.
# Beside each run, each composing model's share: executions, mean batch, queue and compute time
# per request (a request is charged its whole batch, as Triton does), and its instances' busy
# time per request (ModelStatistics batch_stats, before and after the run).
#
# Runs alternate in order (tts 1, tts 16, asr 1, asr 16, then backwards) over --rounds rounds.
# Before the server starts (it measures batch costs while loading) and before each round the
# script waits, up to --max-wait seconds, until other processes use under --quiet-cores cores;
# every row reports the cores others used meanwhile. Progress goes to stderr, Markdown tables
# to stdout.
#
# usage: tests/bench/pipelines_benchmark.sh [--quick] [--rounds=N] [--out=DIR]
#            [--quiet-cores=C] [--max-wait=S]
#   --quick          one round, 3 s windows (at most 4 per run); default 2 rounds of 5 s
#                    windows (at most 6 per run)
#   --rounds=N       rounds (default 2, or 1 with --quick)
#   --out=DIR        keep the sentences, audio, statistics, CSV files and logs here (default: a
#                    temporary folder, removed at exit)
#   --quiet-cores=C  "quiet" means others use under C cores (default 0.5)
#   --max-wait=S     wait at most S seconds for a quiet machine each time (default 300)
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0 rounds="" out_dir="" quiet_cores=0.5 max_wait=300
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --rounds=*) rounds=${arg#*=} ;;
    --out=*) out_dir=${arg#*=} ;;
    --quiet-cores=*) quiet_cores=${arg#*=} ;;
    --max-wait=*) max_wait=${arg#*=} ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "pipelines_benchmark.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$rounds" ] || rounds=$([ "$quick" -eq 1 ] && echo 1 || echo 2)
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds must be a positive integer" >&2; exit 2; }

bench_name=pipelines
# shellcheck source=tests/bench/bench_common.sh
source tests/bench/bench_common.sh
bench_start_work "$out_dir"
command -v espeak-ng >/dev/null || bench_die "espeak-ng is not installed (apt-get install espeak-ng)"
command -v sox >/dev/null || bench_die "sox is not installed (apt-get install sox)"

started=$(date +%s)
bench_build_binaries ""  # with Bazel
bench_log "building speech_client with Bazel"
bazel build --noshow_progress //client/cli:speech_client >"$bench_work/bazel_client.log" 2>&1 ||
  { cat "$bench_work/bazel_client.log" >&2; bench_die "bazel build //client/cli:speech_client failed"; }
cp "$(bazel info bazel-bin 2>/dev/null)/client/cli/speech_client" "$bench_work/bin/"
client_bin=$bench_work/bin/speech_client

# ------------------------------------------------------------------ inputs
# Voice commands: tests/harness/espeak.cc's sentences (bench_common.sh).
sentences=("${BENCH_VOICE_COMMANDS[@]}")
voices=(en-us en-gb en-gb-scotland en-029 en-gb-x-rp en-us+f3 en-gb+f2 en-gb-x-gbclan)
speeds=(140 160 175 190 210)

inputs=$bench_work/inputs
mkdir -p "$inputs/speech"
bench_log "writing ${#sentences[@]} sentences as JSON and speaking them with espeak-ng"
{
  echo '{"data": ['
  for i in "${!sentences[@]}"; do
    printf '  {"TEXT": ["%s"]}%s\n' "${sentences[i]}" "$([ "$i" -lt $((${#sentences[@]} - 1)) ] && echo ,)"
  done
  echo ']}'
} >"$inputs/texts.json"
asr_samples=0
for i in "${!sentences[@]}"; do
  name=$(printf '%02d' "$i")
  espeak-ng -v "${voices[i % ${#voices[@]}]}" -s "${speeds[i % ${#speeds[@]}]}" \
    -w "$inputs/$name.raw.wav" "${sentences[i]}"
  sox -V1 "$inputs/$name.raw.wav" -r 16000 -c 1 -b 16 "$inputs/speech/$name.wav" vol 0.9
  rm "$inputs/$name.raw.wav"
  asr_samples=$((asr_samples + $(soxi -s "$inputs/speech/$name.wav")))
done
declare -A audio_s  # mean seconds of audio per request
audio_s[asr]=$(awk -v s="$asr_samples" -v n="${#sentences[@]}" 'BEGIN { printf "%.4f", s / n / 16000 }')

# The server measures batch costs while loading: on a quiet machine, as the runs.
bench_wait_quiet "$quiet_cores" "$max_wait"
bench_log "starting speech_server on the default repository (it measures batch costs while loading)"
bench_start_server "$bench_work/server.log" "$bench_default_repository"
bench_log "speech_server at $bench_grpc, metrics at $bench_metrics"

# The length of each sentence's audio (the weights are fixed, so it is the same every time).
bench_log "speaking each sentence once with speech_client tts for the length of its audio"
tts_samples=0
for i in "${!sentences[@]}"; do
  "$client_bin" --url="$bench_grpc" tts "${sentences[i]}" --out="$inputs/tts_$i.wav" \
    >"$inputs/tts_$i.txt" 2>&1 || { cat "$inputs/tts_$i.txt" >&2; bench_die "speech_client tts failed"; }
  tts_samples=$((tts_samples + $(soxi -s "$inputs/tts_$i.wav")))
done
audio_s[tts]=$(awk -v s="$tts_samples" -v n="${#sentences[@]}" 'BEGIN { printf "%.4f", s / n / 22050 }')
bench_log "mean audio per request: tts ${audio_s[tts]} s (22,050 Hz), asr ${audio_s[asr]} s (16 kHz)"

# ------------------------------------------------------------------ runs
declare -A steps=([tts]="tts_frontend fastpitch hifigan" [asr]="wav2vec2 ctc_decoder")
declare -A data=([tts]=$inputs/texts.json [asr]=$inputs/speech)
if [ "$quick" -eq 1 ]; then window_ms=3000 max_windows=4; else window_ms=5000 max_windows=6; fi
results=$bench_work/results.tsv step_results=$bench_work/steps.tsv
: >"$results"
: >"$step_results"

# busy_ns STATS_FILE: the nanoseconds a model's instances were busy (compute input, infer and
# output of every execution: the sum over ModelStatistics batch_stats). Printed with %.0f:
# mawk's %d stops at 2^31, about 2 s.
busy_ns() {
  awk '/^  batch_stats \{/ { inside = 1 } inside && $1 == "ns:" { s += $2 } END { printf "%.0f", s }' "$1"
}

# stats PREFIX: saves every step model's ModelStatistics in PREFIX.MODEL.stats.
stats() {
  local model
  for model in ${steps[tts]} ${steps[asr]}; do
    "$client_bin" --url="$bench_grpc" stats "$model" >"$1.$model.stats" ||
      bench_die "speech_client stats $model failed"
  done
}

# measure ROUND PIPELINE CLIENTS: one perf_analyzer run, measured again (after waiting for a
# quiet machine, at most twice) when other processes used --quiet-cores or more meanwhile;
# appends a row to results.tsv and one per step to steps.tsv.
measure() {
  local round=$1 pipeline=$2 clients=$3 try
  local prefix=$bench_work/r${round}_${pipeline}_c$clients
  for try in 1 2 3; do
    bench_log "round $round, $pipeline, $clients client(s) ($window_ms ms windows, load" \
      "average $(cut -d' ' -f1 /proc/loadavg))"
    stats "$prefix.before"
    bench_measure "$prefix" -m "$pipeline" --input-data="${data[$pipeline]}" \
      --concurrency-range="$clients" -p "$window_ms" -r "$max_windows"
    stats "$prefix.after"
    if awk -v c="$bench_run_others" -v m="$quiet_cores" 'BEGIN { exit !(c < m) }' ||
      [ "$try" -eq 3 ]; then
      break
    fi
    bench_log "  others used $bench_run_others cores meanwhile; measuring again"
    bench_wait_quiet "$quiet_cores" "$max_wait"
  done
  local infer wall_rtf p50 p99 stable model busy_total=0
  infer=$(bench_csv "$prefix.csv" "Inferences/Second")
  wall_rtf=$(awk -v i="$infer" -v a="${audio_s[$pipeline]}" 'BEGIN { printf "%.2f", i * a }')
  p50=$(awk -v v="$(bench_csv "$prefix.csv" "p50 latency")" 'BEGIN { printf "%.1f", v / 1000 }')
  p99=$(awk -v v="$(bench_csv "$prefix.csv" "p99 latency")" 'BEGIN { printf "%.1f", v / 1000 }')
  stable=$(bench_stable "$prefix.txt")
  local requests
  requests=$(($(bench_metric "$prefix.after" nv_inference_count "$pipeline") -
    $(bench_metric "$prefix.before" nv_inference_count "$pipeline")))
  for model in ${steps[$pipeline]}; do
    local m0=$prefix.before m1=$prefix.after inferences executions busy
    inferences=$(($(bench_metric "$m1" nv_inference_count "$model") - $(bench_metric "$m0" nv_inference_count "$model")))
    executions=$(($(bench_metric "$m1" nv_inference_exec_count "$model") - $(bench_metric "$m0" nv_inference_exec_count "$model")))
    busy=$(($(busy_ns "$m1.$model.stats") - $(busy_ns "$m0.$model.stats")))
    busy_total=$((busy_total + busy))
    local queue_us compute_us
    queue_us=$(($(bench_metric "$m1" nv_inference_queue_duration_us "$model") - $(bench_metric "$m0" nv_inference_queue_duration_us "$model")))
    compute_us=0
    local phase
    for phase in input infer output; do
      compute_us=$((compute_us + $(bench_metric "$m1" "nv_inference_compute_${phase}_duration_us" "$model") -
        $(bench_metric "$m0" "nv_inference_compute_${phase}_duration_us" "$model")))
    done
    awk -v r="$round" -v p="$pipeline" -v c="$clients" -v m="$model" -v n="$inferences" \
      -v e="$executions" -v q="$queue_us" -v k="$compute_us" -v b="$busy" -v a="${audio_s[$pipeline]}" \
      'BEGIN { if (n == 0 || e == 0) { printf "%s\t%s\t%s\t%s\t0\t0\t-\t-\t-\t-\t-\n", r, p, c, m; exit }
               printf "%s\t%s\t%s\t%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\n", r, p, c, m, n, e,
                 n / e, q / n / 1000, k / n / 1000, b / n / 1e6, (b > 0 ? n * a / (b / 1e9) : 0) }' \
      >>"$step_results"
  done
  local compute_rtf
  compute_rtf=$(awk -v n="$requests" -v a="${audio_s[$pipeline]}" -v b="$busy_total" \
    'BEGIN { if (b > 0) printf "%.2f", n * a / (b / 1e9); else print "-" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$pipeline" "$clients" \
    "$infer" "$wall_rtf" "$compute_rtf" "$p50" "$p99" "$stable" "$bench_run_others" "$try" \
    "$requests" >>"$results"
  bench_log "  $infer infer/s = $wall_rtf audio s per s, $compute_rtf per compute s; p50 $p50 ms," \
    "p99 $p99 ms; others used $bench_run_others cores$([ "$stable" = no ] && echo ', NOT STABLE')"
}

runs=("tts 1" "tts 16" "asr 1" "asr 16")
for round in $(seq 1 "$rounds"); do
  [ "$round" -gt 1 ] && bench_wait_quiet "$quiet_cores" "$max_wait"
  order=("${runs[@]}")
  if [ $((round % 2)) -eq 0 ]; then order=("asr 16" "asr 1" "tts 16" "tts 1"); fi
  for run in "${order[@]}"; do
    read -r pipeline clients <<<"$run"
    measure "$round" "$pipeline" "$clients"
  done
done
bench_stop_server
bench_log "done in $(($(date +%s) - started)) s"

# ------------------------------------------------------------------ tables
# mean FILE COLUMN KEY...: "MEAN MIN MAX" of COLUMN over the rows whose columns after the
# round equal KEY... in order.
mean() {
  local file=$1 column=$2
  shift 2
  awk -F'\t' -v c="$column" -v key="$*" 'BEGIN { k = split(key, want, " ") }
    { for (i = 1; i <= k; i++) if ($(i + 1) != want[i]) next }
    $c != "-" { n++; t += $c; if (n == 1 || $c < lo) lo = $c; if (n == 1 || $c > hi) hi = $c }
    END { if (n) printf "%.2f %.2f %.2f\n", t / n, lo, hi; else print "- - -" }' "$file"
}
range() { if [ "$2" = "$3" ]; then echo "$1"; else echo "$1 ($2 to $3)"; fi; }

echo "# Speech pipelines: tts and asr of the default repository (tiny models), 1 and 16 clients"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo |
  sed 's/.*: //')); $rounds round(s), $window_ms ms windows, at most $max_windows per run;" \
  "$([ "$quick" -eq 1 ] && echo 'quick mode' || echo 'full mode')."
echo "Build: $(bench_provenance)."
echo "Command: \`tests/bench/pipelines_benchmark.sh $*\`"
echo
echo "Inputs: ${#sentences[@]} voice commands; tts makes ${audio_s[tts]} s of audio per request" \
  "on average, asr hears ${audio_s[asr]} s (espeak-ng, voices and speeds cycled)."
echo
echo "Per run (real-time factor: seconds of audio per wall-clock second, and per second the"\
  "steps' instances were busy; cores used by other processes meanwhile):"
echo
echo "| round | pipeline | clients | infer/s | audio s / s | audio s / compute s | p50 ms | p99 ms | stable | others' cores | tries |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
while IFS=$'\t' read -r round pipeline clients infer wall compute p50 p99 stable others tries _; do
  echo "| $round | $pipeline | $clients | $infer | $wall | $compute | $p50 | $p99 | $stable | $others | $tries |"
done <"$results"
echo
echo "Summary (mean over rounds, range in brackets):"
echo
echo "| pipeline | clients | infer/s | audio s / s | audio s / compute s | p50 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for run in "${runs[@]}"; do
  read -r pipeline clients <<<"$run"
  cells=""
  for column in 4 5 6 7 8; do
    read -r m lo hi <<<"$(mean "$results" "$column" "$pipeline" "$clients")"
    cells="$cells | $(range "$m" "$lo" "$hi")"
  done
  echo "| $pipeline | $clients$cells |"
done
echo
echo "Each step (mean over rounds): executions' mean batch; queue and compute time per request"\
  "(each request charged its whole batch); its instances' busy time per request; audio seconds"\
  "per second the step was busy:"
echo
echo "| pipeline | clients | step | mean batch | queue ms/req | compute ms/req | busy ms/req | audio s / busy s |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for run in "${runs[@]}"; do
  read -r pipeline clients <<<"$run"
  for model in ${steps[$pipeline]}; do
    cells=""
    for column in 7 8 9 10 11; do
      read -r m _ _ <<<"$(mean "$step_results" "$column" "$pipeline" "$clients" "$model")"
      cells="$cells | $m"
    done
    echo "| $pipeline | $clients | $model$cells |"
  done
done
exit 0
