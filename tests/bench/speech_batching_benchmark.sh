#!/usr/bin/env bash
# Variable-length batching of speech against Triton's behaviour, through the real server: the
# tiny wav2vec2 under 16 concurrent clients (perf_analyzer --concurrency-range=16), on espeak-ng
# speech, in two sets:
#   (a) short voice commands, 0.5 to 4 s     target: default >= 0.9x the equal-length baseline,
#                                             with a mean formed batch >= 2 rows
#   (b) long sentences, 1 to 14 s            target: default >= 0.95x the best of the others
# Four runs per set:
#   default      the default repository's wav2vec2: ragged_padding, requests of different
#                lengths share a batch, formed by the measured cost model
#   cost off     the same with the parameter batch_cost_model "false": batches formed as Triton
#                forms them (arrival order, filled up to the preferred sizes), padded
#   one by one   make_repository.py --plain-triton: no padding, so requests of different shapes
#                run one by one, as Triton would run them
#   equal cut    the baseline "the same audio cut to equal lengths": every utterance cut or
#                padded with silence to the set's mean length, served by the plain config, so
#                that Triton's same-shape batching applies
# Audio seconds per second = inferences/s x the mean utterance length (perf_analyzer cycles the
# set in order, so every utterance is sent equally often); for "equal cut" the cut length.
# Mean formed batch: perf_analyzer's (from ModelStatistics, over its reported windows); padding:
# padded over real elements per execution, from /metrics before and after each run.
#
# Runs alternate in order (ABCD, DCBA, ...) over --rounds rounds. Before the server starts (it
# measures batch costs while loading) and before each round the script waits, up to --max-wait
# seconds, until other processes use under --quiet-cores cores; a run during which they used more
# is measured again after such a wait (three times at most), and every row reports the cores
# others used meanwhile. Progress goes to stderr, Markdown tables to stdout. One speech_server
# on free ports serves the three configurations under different names.
#
# usage: tests/bench/speech_batching_benchmark.sh [--quick] [--rounds=N] [--out=DIR]
#            [--bin-dir=DIR] [--repository=DIR] [--python=PATH] [--quiet-cores=C]
#            [--max-wait=S] [--window-ms=MS] [--max-windows=N] [--server-flag=FLAG]...
#            [--strict]
#   --quick          one round, 3 s windows (at most 4 per run); default 3 rounds of 10 s
#                    windows (at most 8 per run)
#   --rounds=N       rounds (default 3, or 1 with --quick)
#   --window-ms=MS   measurement windows of MS ms instead (perf_analyzer -p)
#   --max-windows=N  at most N windows per run instead (perf_analyzer -r, at least 3)
#   --out=DIR        keep the audio, configurations, CSV files and logs here (default: a
#                    temporary folder, removed at exit)
#   --bin-dir=DIR    speech_server and perf_analyzer from DIR, no Bazel; the default repository's
#                    wav2vec2 is then exported with make_repository.py unless --repository
#   --repository=DIR take the default configuration's wav2vec2 from DIR/wav2vec2
#   --python=PATH    interpreter for models/export (default /usr/bin/python3)
#   --quiet-cores=C  "quiet" means others use under C cores (default 0.5)
#   --max-wait=S     wait at most S seconds for a quiet machine each time (default 600)
#   --server-flag=FLAG  pass FLAG to speech_server (repeatable), for example
#                    --server-flag=--heap-release-interval-ms=0
#   --strict         exit 1 when a target is missed (default: report only)
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0 rounds="" out_dir="" bin_dir="" repository_arg="" python=/usr/bin/python3 quiet_cores=0.5
max_wait=600 strict=0 window_arg="" max_windows_arg="" server_flags=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --rounds=*) rounds=${arg#*=} ;;
    --out=*) out_dir=${arg#*=} ;;
    --bin-dir=*) bin_dir=${arg#*=} ;;
    --repository=*) repository_arg=${arg#*=} ;;
    --python=*) python=${arg#*=} ;;
    --quiet-cores=*) quiet_cores=${arg#*=} ;;
    --max-wait=*) max_wait=${arg#*=} ;;
    --window-ms=*) window_arg=${arg#*=} ;;
    --max-windows=*) max_windows_arg=${arg#*=} ;;
    --server-flag=*) server_flags+=("${arg#*=}") ;;
    --strict) strict=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "speech_batching_benchmark.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$rounds" ] || rounds=$([ "$quick" -eq 1 ] && echo 1 || echo 3)
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds must be a positive integer" >&2; exit 2; }
[[ "$window_arg" =~ ^([1-9][0-9]*)?$ ]] ||
  { echo "--window-ms must be a positive integer" >&2; exit 2; }
[[ "$max_windows_arg" =~ ^([3-9]|[1-9][0-9]+)?$ ]] ||
  { echo "--max-windows must be an integer of at least 3" >&2; exit 2; }

bench_name=speech-batching
# shellcheck source=tests/bench/bench_common.sh
source tests/bench/bench_common.sh
bench_start_work "$out_dir"
command -v espeak-ng >/dev/null || bench_die "espeak-ng is not installed (apt-get install espeak-ng)"
command -v sox >/dev/null || bench_die "sox is not installed (apt-get install sox)"

started=$(date +%s)
bench_build_binaries "$bin_dir"

# ------------------------------------------------------------------ audio
voices=(en-us en-gb en-gb-scotland en-029 en-gb-x-rp en-us+f3 en-gb+f2 en-gb-x-gbclan)

# Voice commands: tests/harness/espeak.cc's sentences (bench_common.sh).
short_sentences=("${BENCH_VOICE_COMMANDS[@]}")
short_speeds=(140 160 175 190 210)

# Long sentences: from a couple of words to about thirty-five, read slowly.
long_sentences=(
  "Good morning, everyone." "Thank you very much." "See you tomorrow at noon."
  "Please read the next chapter aloud."
  "The train to the coast leaves from platform nine."
  "I would like to change my appointment to Friday morning."
  "Can you tell me how long the drive to the mountains will take?"
  "The museum is closed on Mondays, but it opens late on Thursday evenings."
  "After the rain stopped, the children ran outside to play in the puddles."
  "Our team will review the proposal and send you our comments by the end of the week."
  "He left the keys on the kitchen table, next to the bowl of oranges and the morning paper."
  "The library has moved to the new building across the square, beside the old post office."
  "If the weather stays fine tomorrow, we will take the boat across the lake and have lunch on the island."
  "The recipe calls for two cups of flour, a pinch of salt, three eggs and a little warm milk."
  "Every spring the river floods the low fields, and the farmers wait until summer to plant their crops."
  "She spent the whole afternoon in the garden, planting tulips along the fence and pulling up weeds."
  "The conference starts at nine, so please arrive early enough to collect your badge and find a seat."
  "When the power went out, we lit candles, played cards by the fire and told stories until midnight."
  "The bridge will be closed for repairs from Monday to Wednesday, so drivers should use the northern route into town."
  "Scientists have found that these birds remember the places where they hid their seeds for many months afterwards."
  "The old lighthouse on the cliff has guided ships safely into the harbour for more than two hundred years."
  "Before you leave the office tonight, please make sure that the windows are closed, the lights are off and the alarm is set."
  "My grandfather used to walk five miles to school every morning, whatever the weather, and he never once complained about it."
  "The committee discussed the budget for next year at great length, but in the end they could not agree on how to pay for the new playground."
  "Along the narrow streets of the old town, small shops sell fresh bread, local cheese, pottery and postcards of the cathedral."
  "Turn on the heating in the living room and set it to twenty one degrees."
  "Find a good Italian restaurant that is open late tonight and book a table for four."
  "Call the office and tell them the meeting has moved to Thursday at three in the afternoon because the projector in the large room is broken."
  "Where did I park the car?" "Remind me to buy milk on the way home."
  "The quick brown fox jumps over the lazy dog."
  "A journey of a thousand miles begins with a single step."
  "When does the last train to the city leave on Sunday evenings?"
  "Send a message to Anna saying I will be late for dinner tonight."
  "The children built a tall tower of wooden blocks, and then the cat walked past and knocked it over."
  "We watched the sun go down behind the hills while the fishing boats came slowly back into the bay."
  "Please remember to water the plants on the balcony while I am away, especially the tomatoes."
  "The orchestra played the last movement so quietly that nobody in the hall dared to cough."
  "When we finally reached the top of the mountain, after climbing for more than six hours through snow and wind, the clouds opened and we could see the lakes and villages far below us."
  "On the first Saturday of every month the whole village gathers in the square for a market, where farmers sell vegetables, bakers sell warm bread and children sell lemonade from small wooden stands."
  "The last bus from the station leaves at eleven, so if the concert runs late we will have to share a taxi back to the hotel with the others."
  "The instructions say that you should remove the old filter, clean the housing with a damp cloth, fit the new filter with the arrow pointing upwards and then run the machine empty for ten minutes."
)
long_speeds=(120 135 150 165)

# make_set DIR MIN_S MAX_S "SPEED..." SENTENCE...: one 16 kHz mono 16-bit WAV per sentence
# (voice and words per minute cycled), kept when its length is within [MIN_S, MAX_S]; prints
# the count.
make_set() {
  local dir=$1 min_s=$2 max_s=$3 speeds text
  read -r -a speeds <<<"$4"
  shift 4
  mkdir -p "$dir"
  local i=0 kept=0 voice speed samples name
  for text in "$@"; do
    voice=${voices[i % ${#voices[@]}]} speed=${speeds[i % ${#speeds[@]}]}
    name=$(printf '%02d' "$i")
    espeak-ng -v "$voice" -s "$speed" -w "$dir/$name.raw.wav" "$text"
    sox -V1 "$dir/$name.raw.wav" -r 16000 -c 1 -b 16 "$dir/$name.wav" vol 0.9
    rm "$dir/$name.raw.wav"
    samples=$(soxi -s "$dir/$name.wav")
    if awk -v n="$samples" -v lo="$min_s" -v hi="$max_s" \
      'BEGIN { exit !(n >= lo * 16000 && n <= hi * 16000) }'; then
      printf '%s\t%s\t%s\t%s\n' "$name" "$samples" "$voice/$speed" "$text" >>"$dir.index"
      kept=$((kept + 1))
    else
      rm "$dir/$name.wav"
    fi
    i=$((i + 1))
  done
  echo "$kept"
}

# cut_set DIR CUT_DIR N: every WAV of DIR cut, or padded with silence, to N samples.
cut_set() {
  mkdir -p "$2"
  local file
  for file in "$1"/*.wav; do
    sox -V1 "$file" "$2/${file##*/}" pad 0 30 trim 0 "${3}s"
  done
}

# set_stats INDEX: "COUNT MEAN_SAMPLES MIN_S MAX_S" of a set's index.
set_stats() {
  awk -F'\t' '{ n++; s += $2; if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2 }
    END { printf "%d %d %.2f %.2f\n", n, s / n + 0.5, min / 16000, max / 16000 }' "$1"
}

audio=$bench_work/audio
mkdir -p "$audio"
bench_log "speaking the sets with espeak-ng"
count=$(make_set "$audio/short" 0.5 4 "${short_speeds[*]}" "${short_sentences[@]}")
[ "$count" -ge 32 ] || bench_die "only $count voice commands within 0.5 to 4 s (need 32)"
count=$(make_set "$audio/long" 1 14 "${long_speeds[*]}" "${long_sentences[@]}")
[ "$count" -ge 32 ] || bench_die "only $count long sentences within 1 to 14 s (need 32)"
declare -A set_count set_mean set_range set_zero
for set in short long; do
  read -r n mean min_s max_s <<<"$(set_stats "$audio/$set.index")"
  set_count[$set]=$n set_mean[$set]=$mean set_range[$set]="$min_s to $max_s s"
  cut_set "$audio/$set" "$audio/${set}_equal" "$mean"
  # Share of the cut set that is added silence (what equal shapes cost in padding, client-side).
  set_zero[$set]=$(awk -F'\t' -v m="$mean" '{ n++; if ($2 < m) z += m - $2 }
    END { printf "%.3f", z / (n * m - z) }' "$audio/$set.index")
  bench_log "set $set: $n utterances, ${set_range[$set]}, mean" \
    "$(awk -v m="$mean" 'BEGIN { printf "%.3f", m / 16000 }') s ($mean samples)"
done

# ------------------------------------------------------------------ repository
repository=$bench_work/repository
mkdir -p "$repository"
if [ -n "$repository_arg" ]; then
  cp -r "$repository_arg/wav2vec2" "$repository/w2v_default"
elif [ -n "$bench_default_repository" ]; then
  cp -r "$bench_default_repository/wav2vec2" "$repository/w2v_default"
else
  bench_log "exporting the tiny wav2vec2 (default configuration)"
  "$python" models/export/make_repository.py --out "$bench_work/export_default" --size tiny \
    --models wav2vec2 >&2
  cp -r "$bench_work/export_default/wav2vec2" "$repository/w2v_default"
fi
bench_log "exporting the tiny wav2vec2 with --plain-triton"
"$python" models/export/make_repository.py --out "$bench_work/export_plain" --size tiny \
  --models wav2vec2 --plain-triton >"$bench_work/export_plain.log" 2>&1 ||
  { cat "$bench_work/export_plain.log" >&2; bench_die "make_repository.py --plain-triton failed"; }
cp -r "$bench_work/export_plain/wav2vec2" "$repository/w2v_plain"
cp -r "$repository/w2v_default" "$repository/w2v_cost_off"
chmod -R u+w "$repository"
for model in w2v_default w2v_cost_off w2v_plain; do
  sed -i "s/^name: \"wav2vec2\"/name: \"$model\"/" "$repository/$model/config.pbtxt"
  grep -q "^name: \"$model\"" "$repository/$model/config.pbtxt" ||
    bench_die "cannot rename the model in $repository/$model/config.pbtxt"
done
echo 'parameters { key: "batch_cost_model" value { string_value: "false" } }' \
  >>"$repository/w2v_cost_off/config.pbtxt"

# The server measures batch costs while loading: on a quiet machine, as the runs.
bench_wait_quiet "$quiet_cores" "$max_wait"
bench_log "starting speech_server (it measures batch costs while loading)"
bench_start_server "$bench_work/server.log" "$repository" "${server_flags[@]}"
bench_log "speech_server at $bench_grpc, metrics at $bench_metrics"

# ------------------------------------------------------------------ runs
runs=(default cost_off one_by_one equal_cut)
declare -A run_model=([default]=w2v_default [cost_off]=w2v_cost_off [one_by_one]=w2v_plain
  [equal_cut]=w2v_plain)
declare -A run_label=([default]="default (cost model)" [cost_off]="batch_cost_model false"
  [one_by_one]="plain Triton, one by one" [equal_cut]="equal cut, plain Triton")
declare -A window_ms
if [ "$quick" -eq 1 ]; then
  window_ms=([short]=3000 [long]=3000) max_windows=4
else
  window_ms=([short]=10000 [long]=10000) max_windows=8
fi
[ -n "$window_arg" ] && window_ms=([short]=$window_arg [long]=$window_arg)
[ -n "$max_windows_arg" ] && max_windows=$max_windows_arg
results=$bench_work/results.tsv
: >"$results"

# measure ROUND SET RUN: one perf_analyzer run, measured again (after waiting for a quiet
# machine, at most twice) when other processes used --quiet-cores or more meanwhile; appends a
# row to results.tsv.
measure() {
  local round=$1 set=$2 run=$3 model=${run_model[$3]} data=$audio/$2
  [ "$run" = equal_cut ] && data=$audio/${set}_equal
  local prefix=$bench_work/r${round}_${set}_${run} try
  for try in 1 2 3; do
    bench_log "round $round, $set, ${run_label[$run]}: $model on ${data##*/}" \
      "(${window_ms[$set]} ms windows, load average $(cut -d' ' -f1 /proc/loadavg))"
    bench_measure "$prefix" -m "$model" --input-data="$data" --concurrency-range=16 \
      -p "${window_ms[$set]}" -r "$max_windows"
    if awk -v c="$bench_run_others" -v m="$quiet_cores" 'BEGIN { exit !(c < m) }' ||
      [ "$try" -eq 3 ]; then
      break
    fi
    bench_log "  others used $bench_run_others cores meanwhile; measuring again"
    bench_wait_quiet "$quiet_cores" "$max_wait"
  done
  local infer seconds padding batch stable
  infer=$(bench_csv "$prefix.csv" "Inferences/Second")
  # Equal cut: every request is the set's mean length, so the same factor applies.
  seconds=$(awk -v i="$infer" -v m="${set_mean[$set]}" 'BEGIN { printf "%.2f", i * m / 16000 }')
  padding=$(bench_delta_ratio "$prefix.before" "$prefix.after" speech_batch_padding_ratio_sum \
    speech_batch_padding_ratio_count "$model")
  [ "$padding" = "-" ] && padding=0.000  # the plain config pads nothing and records nothing
  batch=$(bench_mean_batch "$prefix.txt")
  stable=$(bench_stable "$prefix.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$set" "$run" "$infer" \
    "$seconds" "$batch" "$padding" "$(($(bench_csv "$prefix.csv" "p50 latency") / 1000))" \
    "$(($(bench_csv "$prefix.csv" "p99 latency") / 1000))" "$stable" "$bench_run_others" \
    "$try" >>"$results"
  bench_log "  $infer infer/s = $seconds audio s/s, mean batch $batch, padding $padding," \
    "others used $bench_run_others cores$([ "$stable" = no ] && echo ', NOT STABLE')"
}

for round in $(seq 1 "$rounds"); do
  [ "$round" -gt 1 ] && bench_wait_quiet "$quiet_cores" "$max_wait"
  order=("${runs[@]}")
  if [ $((round % 2)) -eq 0 ]; then order=(equal_cut one_by_one cost_off default); fi
  for set in short long; do
    for run in "${order[@]}"; do measure "$round" "$set" "$run"; done
  done
done
bench_stop_server
bench_log "done in $(($(date +%s) - started)) s"

# ------------------------------------------------------------------ tables
# stat SET RUN COLUMN: "MEAN MIN MAX" of a column over the rounds.
stat() {
  awk -F'\t' -v s="$1" -v r="$2" -v c="$3" '$2 == s && $3 == r && $c != "-" {
      n++; t += $c; if (n == 1 || $c < lo) lo = $c; if (n == 1 || $c > hi) hi = $c }
    END { if (n) printf "%.2f %.2f %.2f\n", t / n, lo, hi; else print "- - -" }' "$results"
}
# ratio_stat SET RUN BASE: "MEAN MIN MAX" over the rounds of RUN's audio s/s / BASE's, paired.
ratio_stat() {
  awk -F'\t' -v s="$1" -v a="$2" -v b="$3" '$2 == s && $3 == a { x[$1] = $5 }
    $2 == s && $3 == b { y[$1] = $5 }
    END { for (k in x) if (y[k] > 0) { r = x[k] / y[k]; n++; t += r
            if (n == 1 || r < lo) lo = r; if (n == 1 || r > hi) hi = r }
          if (n) printf "%.3f %.3f %.3f\n", t / n, lo, hi; else print "0 0 0" }' "$results"
}
range() { if [ "$2" = "$3" ]; then echo "$1"; else echo "$1 ($2 to $3)"; fi; }

mode=$([ "$quick" -eq 1 ] && echo 'quick mode' || echo 'full mode')
[ -n "$window_arg$max_windows_arg" ] && mode="$mode, windows set by hand"
declare -A set_title=([short]="(a) short voice commands" [long]="(b) long sentences")
missed=0 verdicts=()
echo "# Variable-length speech batching: tiny wav2vec2, 16 concurrent clients"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo |
  sed 's/.*: //')); $rounds round(s), ${window_ms[short]} ms windows, at most $max_windows per run;" \
  "$mode."
echo "Build: $(bench_provenance)."
echo "Command: \`tests/bench/speech_batching_benchmark.sh $*\`"
for set in short long; do
  mean_s=$(awk -v m="${set_mean[$set]}" 'BEGIN { printf "%.3f", m / 16000 }')
  echo
  echo "## ${set_title[$set]}: ${set_count[$set]} espeak-ng utterances, ${set_range[$set]}," \
    "mean $mean_s s"
  echo
  echo "Per run (infer/s, audio s/s, mean formed batch, padding, p50 and p99 latency, cores" \
    "used by other processes meanwhile, measurements taken):"
  echo
  echo "| round | run | infer/s | audio s/s | mean batch | padding | p50 ms | p99 ms | stable | others' cores | tries |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F'\t' -v s="$set" '$2 == s' "$results" | while IFS=$'\t' read -r round _ run infer seconds \
    batch padding p50 p99 stable others tries; do
    echo "| $round | ${run_label[$run]} | $infer | $seconds | $batch | $padding | $p50 | $p99 | $stable | $others | $tries |"
  done
  if [ "$set" = short ]; then
    base=equal_cut
  else
    # The best of the others on this hardware, by mean audio seconds per second.
    base=$(for run in cost_off one_by_one equal_cut; do
      echo "$run $(stat "$set" "$run" 5 | cut -d' ' -f1)"; done | sort -k2,2 -g | tail -1 |
      cut -d' ' -f1)
  fi
  echo
  echo "Summary (mean over rounds, range in brackets; ratios paired within a round, against" \
    "${run_label[$base]}):"
  echo
  echo "| run | audio s/s | ratio | mean batch | padding |"
  echo "| --- | --- | --- | --- | --- |"
  for run in "${runs[@]}"; do
    read -r m lo hi <<<"$(stat "$set" "$run" 5)"
    read -r rm rlo rhi <<<"$(ratio_stat "$set" "$run" "$base")"
    read -r bm _ _ <<<"$(stat "$set" "$run" 6)"
    read -r pm _ _ <<<"$(stat "$set" "$run" 7)"
    echo "| ${run_label[$run]} | $(range "$m" "$lo" "$hi") | $(range "${rm}x" "${rlo}x" "${rhi}x") | $bm | $pm |"
  done
  echo
  echo "The equal cut adds ${set_zero[$set]} silent samples per real sample (client-side" \
    "padding the server does not see)."
  read -r rm rlo rhi <<<"$(ratio_stat "$set" default "$base")"
  read -r bm _ _ <<<"$(stat "$set" default 6)"
  if [ "$set" = short ]; then
    target="default >= 0.9x equal cut, mean batch >= 2"
    if awk -v r="$rm" -v b="$bm" 'BEGIN { exit !(r >= 0.9 && b >= 2) }'; then verdict=met
    else verdict=MISSED; missed=1; fi
  else
    target="default >= 0.95x the best other (${run_label[$base]})"
    if awk -v r="$rm" 'BEGIN { exit !(r >= 0.95) }'; then verdict=met
    else verdict=MISSED; missed=1; fi
  fi
  verdicts+=("| ${set_title[$set]} | $target | ${rm}x, mean batch $bm | $verdict |")
done
echo
echo "## Targets"
echo
echo "| set | target | measured | result |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${verdicts[@]}"
if [ "$strict" -eq 1 ] && [ "$missed" -eq 1 ]; then exit 1; fi
exit 0
