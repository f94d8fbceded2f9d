#!/usr/bin/env bash
# The seed's wav2vec 2.0 inference table, through the server: offline batches of 1, 4, 8 and 16
# utterances (perf_analyzer -b N, one client) over a LibriSpeech-like length distribution, with
# average, p90, p95 and p99 latency and throughput in utterances/s and audio seconds/s.
#
# Lengths: 16 utterances at the quantile midpoints (i + 0.5) / 16 of a lognormal (median 5.7 s,
# sigma 0.6) truncated to 1.5..20 s, mean 6.52 s, from 2.04 to 15.43 s (LibriSpeech's test sets:
# mean about 6.5 to 7.4 s, most between 1.5 and 20 s). Audio: synthetic pink noise made by sox at
# those exact lengths (the seeded weights make cost, not content, matter), 16 kHz WAV files.
# A request of N rows is one [N, samples] tensor, so its rows share a length: each batch is N
# utterances of one length (an offline evaluation that buckets by length), the 16 lengths cycled
# in order. Every length is sent equally often, so audio s/s = utterances/s x 6.52 s. The server
# pads (the default configuration), so batches of different lengths follow one another freely.
#
# Default: the tiny fp32 wav2vec2 of the default repository, on CPU. --full exports
# `make_repository.py --size full --dtype fp16` (GPU instances) and serves that: for a GPU host
# (with --bin-dir there, which has no Bazel); not run on the CPU development VM.
# Progress goes to stderr, the Markdown table to stdout.
#
# usage: tests/bench/wav2vec2_benchmark.sh [--quick] [--full] [--out=DIR] [--bin-dir=DIR]
#            [--repository=DIR] [--python=PATH] [--quiet-cores=C] [--max-wait=S]
#   --quick          3 s windows, at most 4 per level (default 10 s, at most 6)
#   --full           full-size fp16 wav2vec2 on the GPU (see above)
#   --out=DIR        keep the audio, CSV files and logs here (default: a temporary folder)
#   --bin-dir=DIR    speech_server and perf_analyzer from DIR, no Bazel
#   --repository=DIR serve this repository's wav2vec2 instead
#   --python=PATH    interpreter for models/export with --full (default /usr/bin/python3)
#   --quiet-cores=C  before each level wait until other processes use under C cores (default 0.5)
#   --max-wait=S     for at most S seconds per level (default 600)
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0 full=0 out_dir="" bin_dir="" repository="" python=/usr/bin/python3 quiet_cores=0.5
max_wait=600
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --full) full=1 ;;
    --out=*) out_dir=${arg#*=} ;;
    --bin-dir=*) bin_dir=${arg#*=} ;;
    --repository=*) repository=${arg#*=} ;;
    --python=*) python=${arg#*=} ;;
    --quiet-cores=*) quiet_cores=${arg#*=} ;;
    --max-wait=*) max_wait=${arg#*=} ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "wav2vec2_benchmark.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

bench_name=wav2vec2
# shellcheck source=tests/bench/bench_common.sh
source tests/bench/bench_common.sh
bench_start_work "$out_dir"
command -v sox >/dev/null || bench_die "sox is not installed (apt-get install sox)"

started=$(date +%s)
bench_build_binaries "$bin_dir"

# ------------------------------------------------------------------ repository
if [ -z "$repository" ]; then
  if [ "$full" -eq 1 ]; then
    repository=$bench_work/repository_full_fp16
    bench_log "exporting the full-size fp16 wav2vec2 to $repository"
    "$python" models/export/make_repository.py --out "$repository" --size full --dtype fp16 \
      --models wav2vec2 >&2
  elif [ -n "$bench_default_repository" ]; then
    repository=$bench_default_repository
  else
    repository=$bench_work/repository_tiny
    bench_log "exporting the tiny wav2vec2 to $repository"
    "$python" models/export/make_repository.py --out "$repository" --size tiny \
      --models wav2vec2 >&2
  fi
fi
# Serve wav2vec2 alone, so that loading the others costs no time.
served=$bench_work/served
mkdir -p "$served"
cp -r "$repository/wav2vec2" "$served/"
chmod -R u+w "$served"
grep -q ragged_padding "$served/wav2vec2/config.pbtxt" ||
  bench_log "warning: this wav2vec2 does not pad; batches of different lengths cannot share"
model_kind=$(grep -o 'KIND_[A-Z]*' "$served/wav2vec2/config.pbtxt" | head -1)
max_batch=$(awk '/^max_batch_size:/ { print $2 }' "$served/wav2vec2/config.pbtxt")

# ------------------------------------------------------------------ audio
lengths_s=(2.04 2.68 3.17 3.62 4.06 4.49 4.95 5.42 5.94 6.52 7.17 7.94 8.88 10.11 11.93 15.43)
batches=(1 4 8 16)
for batch in "${batches[@]}"; do
  [ "$batch" -le "$max_batch" ] || bench_die "batch $batch exceeds max_batch_size $max_batch"
done
audio=$bench_work/audio
mkdir -p "$audio/lengths"
bench_log "making ${#lengths_s[@]} synthetic utterances with sox"
for i in "${!lengths_s[@]}"; do
  samples=$(awk -v s="${lengths_s[i]}" 'BEGIN { printf "%d", s * 16000 + 0.5 }')
  sox -R -V1 -n -r 16000 -c 1 -b 16 "$audio/lengths/$(printf '%02d' "$i").wav" \
    synth "${samples}s" pinknoise vol 0.3
done
mean_s=$(printf '%s\n' "${lengths_s[@]}" | awk '{ t += $1 } END { printf "%.4f", t / NR }')
# One folder per batch size: N consecutive files (hard links) per length, so that each request
# of N rows is N utterances of one length.
for batch in "${batches[@]}"; do
  mkdir -p "$audio/b$batch"
  for i in "${!lengths_s[@]}"; do
    for j in $(seq 0 $((batch - 1))); do
      ln "$audio/lengths/$(printf '%02d' "$i").wav" \
        "$audio/b$batch/$(printf '%02d_%02d' "$i" "$j").wav"
    done
  done
done

# ------------------------------------------------------------------ runs
if [ "$quick" -eq 1 ]; then window_ms=3000 max_windows=4; else window_ms=10000 max_windows=6; fi
bench_wait_quiet "$quiet_cores" "$max_wait"
bench_log "starting speech_server ($model_kind; it measures batch costs while loading)"
bench_start_server "$bench_work/server.log" "$served"
bench_log "speech_server at $bench_grpc, metrics at $bench_metrics"
results=$bench_work/results.tsv
: >"$results"
for batch in "${batches[@]}"; do
  [ "$batch" -gt 1 ] && bench_wait_quiet "$quiet_cores" "$max_wait"
  prefix=$bench_work/b$batch
  bench_log "batch $batch: ${window_ms} ms windows, at most $max_windows (load average" \
    "$(cut -d' ' -f1 /proc/loadavg))"
  bench_measure "$prefix" -m wav2vec2 --input-data="$audio/b$batch" -b "$batch" \
    --concurrency-range=1 -p "$window_ms" -r "$max_windows"
  padding=$(bench_delta_ratio "$prefix.before" "$prefix.after" speech_batch_padding_ratio_sum \
    speech_batch_padding_ratio_count wav2vec2)
  csv=$prefix.csv
  ms() { awk -v v="$(bench_csv "$csv" "$1")" 'BEGIN { printf "%.1f", v / 1000 }'; }
  infer=$(bench_csv "$csv" "Inferences/Second")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$batch" "$infer" \
    "$(awk -v i="$infer" -v m="$mean_s" 'BEGIN { printf "%.1f", i * m }')" \
    "$(ms "Avg latency")" "$(ms "p50 latency")" "$(ms "p90 latency")" "$(ms "p95 latency")" \
    "$(ms "p99 latency")" "$(ms "Server Queue")" "$(ms "Server Compute Infer")" \
    "$(bench_mean_batch "$prefix.txt")/$padding" "$(bench_stable "$prefix.txt")" \
    "$bench_run_others" >>"$results"
  bench_log "  $infer utterances/s, average $(ms "Avg latency") ms, p99 $(ms "p99 latency") ms," \
    "others used $bench_run_others cores$([ "$(bench_stable "$prefix.txt")" = no ] &&
      echo ', NOT STABLE')"
done
bench_stop_server
bench_log "done in $(($(date +%s) - started)) s"

# ------------------------------------------------------------------ table
size=$([ "$full" -eq 1 ] && echo "full, fp16" || echo "tiny, fp32")
echo "# wav2vec 2.0 inference ($size, $model_kind), offline batches through the server"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo |
  sed 's/.*: //')); $((window_ms / 1000)) s windows, at most $max_windows per level;" \
  "$([ "$quick" -eq 1 ] && echo 'quick mode' || echo 'full mode')."
echo "Build: $(bench_provenance)."
echo "Command: \`tests/bench/wav2vec2_benchmark.sh $*\`"
echo "Utterances: ${#lengths_s[@]} synthetic lengths ${lengths_s[0]} to ${lengths_s[-1]} s," \
  "mean $mean_s s (lognormal quantiles); each batch N rows of one length."
echo
echo "| batch | utterances/s | audio s/s | avg ms | p50 ms | p90 ms | p95 ms | p99 ms | queue ms | infer ms | formed batch / padding | stable | others' cores |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
while IFS=$'\t' read -r batch infer seconds avg p50 p90 p95 p99 queue compute formed stable others; do
  echo "| $batch | $infer | $seconds | $avg | $p50 | $p90 | $p95 | $p99 | $queue | $compute | $formed | $stable | $others |"
done <"$results"
exit 0
