# shellcheck shell=bash disable=SC2034,SC2154
# Shell functions shared by tests/bench's speech benchmarks (speech_batching_benchmark.sh,
# wav2vec2_benchmark.sh): progress lines, a Bazel build snapshotted into a private folder,
# speech_server on free ports, /metrics deltas, perf_analyzer runs and parsing, and CPU
# accounting that tells how much of the machine other processes used during a measurement.
#
# Source it after setting bench_name (the tag of progress lines), then call bench_start_work
# for the working folder. It runs nothing when sourced. Every function reports on
# stderr; stdout is left to the caller's tables.

bench_clk_tck=$(getconf CLK_TCK)
bench_server_pids=()
bench_server_pid=""

# bench_log TEXT...: one progress line on stderr, with the time, readable in a log as well.
bench_log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$bench_name" "$*" >&2; }

# bench_die TEXT...: a progress line, then exit 1.
bench_die() { bench_log "error: $*"; exit 1; }

# bench_cleanup: stops the servers this script started (by pid) and removes bench_work. For a
# trap on EXIT.
bench_cleanup() {
  local pid
  for pid in "${bench_server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${bench_server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${bench_work:-}" ] && rm -rf "$bench_work"
  return 0
}

# bench_start_work [OUT_DIR]: makes bench_work, a new folder (under OUT_DIR when given, whose
# files are then kept; else a temporary one), and sets the EXIT trap that runs bench_cleanup.
bench_start_work() {
  local out_dir=${1:-}
  if [ -n "$out_dir" ]; then
    mkdir -p "$out_dir"
    bench_work=$(mktemp -d "$out_dir/run.XXXXXX")
    trap 'bench_work="" bench_cleanup' EXIT  # keep the files
  else
    bench_work=$(mktemp -d)
    trap bench_cleanup EXIT
  fi
}

# bench_build_binaries [BIN_DIR]: sets bench_server_bin, bench_analyzer_bin and
# bench_default_repository. Without BIN_DIR it builds with Bazel (quietly: its output goes to a
# log that is shown only on failure; Bazel waits by itself when another command holds the
# workspace) and copies the binaries and the tiny default repository into bench_work, so that a
# concurrent build in the same workspace cannot swap them between measurements. With BIN_DIR it
# uses BIN_DIR/speech_server and BIN_DIR/perf_analyzer (hosts without Bazel) and no default
# repository.
bench_build_binaries() {
  local bin_dir=${1:-}
  mkdir -p "$bench_work/bin"
  bench_bin_dir=$bin_dir
  if [ -n "$bin_dir" ]; then
    bench_server_bin=$bin_dir/speech_server bench_analyzer_bin=$bin_dir/perf_analyzer
    bench_default_repository=""
  else
    bench_log "building speech_server, perf_analyzer and the default repository with Bazel"
    if ! bazel build --noshow_progress //server:speech_server //client/perf:perf_analyzer \
      //models:default_repository >"$bench_work/bazel.log" 2>&1; then
      cat "$bench_work/bazel.log" >&2
      bench_die "bazel build failed"
    fi
    local bazel_bin
    bazel_bin=$(bazel info bazel-bin 2>/dev/null) || bench_die "bazel info bazel-bin failed"
    cp "$bazel_bin/server/speech_server" "$bazel_bin/client/perf/perf_analyzer" "$bench_work/bin/"
    cp -r "$bazel_bin/models/repository" "$bench_work/default_repository"
    chmod -R u+w "$bench_work/default_repository"
    bench_server_bin=$bench_work/bin/speech_server
    bench_analyzer_bin=$bench_work/bin/perf_analyzer
    bench_default_repository=$bench_work/default_repository
  fi
  [ -x "$bench_server_bin" ] || bench_die "no speech_server at $bench_server_bin"
  [ -x "$bench_analyzer_bin" ] || bench_die "no perf_analyzer at $bench_analyzer_bin"
}

# bench_start_server LOG REPOSITORY [FLAGS...]: starts speech_server on free ports (gRPC and
# metrics on 127.0.0.1; no HTTP/REST endpoint where the server has --allow-http), waits until it
# prints both ports (it measures batch costs while loading, which takes seconds) and sets
# bench_server_pid, bench_grpc (HOST:PORT), bench_metrics (HOST:PORT) and bench_server_log.
# A server that vanishes while loading (on a shared machine: someone else's kill) is started
# again, three times at most; the attempts log to LOG, LOG.2 and LOG.3.
bench_start_server() {
  bench_server_args=("$@")
  local logfile=$1 repository=$2 attempt
  shift 2
  local http=()
  if "$bench_server_bin" --help 2>&1 | grep -q -- '--allow-http'; then http=(--allow-http=false); fi
  for attempt in 1 2 3; do
    bench_server_log=$logfile
    [ "$attempt" -gt 1 ] && bench_server_log=$logfile.$attempt
    "$bench_server_bin" --model-repository="$repository" --grpc-address=127.0.0.1 \
      --grpc-port=0 --metrics-address=127.0.0.1 --metrics-port=0 "${http[@]}" "$@" \
      >"$bench_server_log" 2>&1 &
    bench_server_pid=$!
    bench_server_pids+=("$bench_server_pid")
    if bench_await_ports; then return 0; fi
    bench_reap_server
    tail -5 "$bench_server_log" >&2
    bench_log "speech_server exited while loading (status $bench_server_status; the end of its" \
      "log is above)"
  done
  bench_die "speech_server did not start in three attempts"
}

# bench_await_ports: 0 once the server's log names both ports (setting bench_grpc and
# bench_metrics), 1 when the server exits first; gives up after 5 minutes.
bench_await_ports() {
  local _
  for _ in $(seq 1 1200); do
    if grep -q "Started GRPCInferenceService at" "$bench_server_log"; then
      bench_grpc=$(grep -o "Started GRPCInferenceService at [^ ]*" "$bench_server_log" |
        head -1 | awk '{ print $4 }')
      bench_metrics=$(grep -o "Started Metrics Service at [^ ]*" "$bench_server_log" | head -1 |
        awk '{ print $5 }')
      [ -n "$bench_metrics" ] ||
        bench_die "speech_server printed no metrics port; see $bench_server_log"
      return 0
    fi
    kill -0 "$bench_server_pid" 2>/dev/null || return 1
    sleep 0.25
  done
  bench_die "speech_server printed no port in 5 minutes; see $bench_server_log"
}

# bench_reap_server: waits for the last server started to exit (it was told to, or is gone) and
# forgets its pid, so that cleanup never signals a pid the system has given to someone else.
# Sets bench_server_status to its exit status.
bench_reap_server() {
  bench_server_status=0
  wait "$bench_server_pid" 2>/dev/null || bench_server_status=$?
  local remaining=() pid
  for pid in "${bench_server_pids[@]}"; do
    [ "$pid" = "$bench_server_pid" ] || remaining+=("$pid")
  done
  bench_server_pids=("${remaining[@]}")
}

# bench_server_alive: 0 while the last server started runs.
bench_server_alive() { kill -0 "$bench_server_pid" 2>/dev/null; }

# bench_check_server: exits with the end of the server's log when the last server started is
# gone (another user's kill, a crash). For scripts that would rather stop than restart it.
bench_check_server() {
  bench_server_alive && return 0
  tail -20 "$bench_server_log" >&2
  bench_die "speech_server (pid $bench_server_pid) is gone; the end of its log is above"
}

# bench_restart_server: the last server is gone; says so (with the end of its log) and starts it
# again with the same arguments, logging to a new file. It measures its batch costs afresh.
bench_restart_server() {
  bench_reap_server
  tail -3 "$bench_server_log" >&2
  bench_log "speech_server (pid $bench_server_pid) is gone (status $bench_server_status; the" \
    "end of its log is above); starting it again"
  local args=("${bench_server_args[@]}")
  args[0]=${args[0]}.restarted.$(date +%H%M%S)
  bench_start_server "${args[@]}"
}

# bench_stop_server: SIGTERM to the last server started, and waits for it to exit.
bench_stop_server() {
  kill "$bench_server_pid" 2>/dev/null || true
  bench_reap_server
}

# bench_scrape FILE: saves the server's /metrics text in FILE; 1 when it cannot be read.
bench_scrape() {
  curl -sf "http://$bench_metrics/metrics" >"$1" && return 0
  bench_log "cannot read http://$bench_metrics/metrics"
  return 1
}

# bench_metric FILE NAME MODEL: the value of series NAME{model="MODEL",...} in a scrape (0 when
# absent).
bench_metric() {
  awk -v name="$2" -v model="$3" '
    index($0, name "{") == 1 && index($0, "model=\"" model "\"") { v = $NF }
    END { print (v == "" ? 0 : v) }' "$1"
}

# bench_delta_ratio BEFORE AFTER SUM_NAME COUNT_NAME MODEL: (sum after - before) / (count after -
# before), e.g. the mean padding ratio per execution between two scrapes; "-" without executions.
bench_delta_ratio() {
  local s0 s1 c0 c1
  s0=$(bench_metric "$1" "$3" "$5") s1=$(bench_metric "$2" "$3" "$5")
  c0=$(bench_metric "$1" "$4" "$5") c1=$(bench_metric "$2" "$4" "$5")
  awk -v s0="$s0" -v s1="$s1" -v c0="$c0" -v c1="$c1" \
    'BEGIN { if (c1 > c0) printf "%.3f", (s1 - s0) / (c1 - c0); else print "-" }'
}

# CPU accounting, in clock ticks. bench_cpu_mark sets bench_cpu_mark_{total,ours,time}: the
# machine's busy time (user, nice, system, irq, softirq, steal), the CPU time of our server and of
# this shell's reaped children (perf_analyzer), and the wall time. bench_cpu_others prints the
# cores other processes (and the hypervisor's steal) used on average since the mark.
bench_cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
bench_cpu_ours() {
  local server=0
  [ -n "$bench_server_pid" ] && [ -r "/proc/$bench_server_pid/stat" ] &&
    server=$(sed 's/.*) //' "/proc/$bench_server_pid/stat" | awk '{ print $12 + $13 }')
  # Fields 16 and 17 of the shell's own stat: CPU time of its waited-for children.
  echo $((server + $(sed 's/.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }')))
}
bench_cpu_mark() {
  bench_cpu_mark_total=$(bench_cpu_busy) bench_cpu_mark_ours=$(bench_cpu_ours)
  bench_cpu_mark_time=$(date +%s.%N)
}
bench_cpu_others() {
  local total ours now
  total=$(bench_cpu_busy) ours=$(bench_cpu_ours) now=$(date +%s.%N)
  awk -v t="$((total - bench_cpu_mark_total))" -v o="$((ours - bench_cpu_mark_ours))" \
    -v s="$(awk -v a="$now" -v b="$bench_cpu_mark_time" 'BEGIN { print a - b }')" \
    -v hz="$bench_clk_tck" 'BEGIN { v = (t - o) / hz / s; printf "%.2f", (v < 0 ? 0 : v) }'
}

# bench_wait_quiet MAX_CORES MAX_WAIT_S: waits until other processes use under MAX_CORES cores
# (sampled over 5 s while our server is idle), for at most MAX_WAIT_S seconds; then goes on
# anyway and says so. Sets bench_quiet_cores to the last sample.
bench_wait_quiet() {
  local max_cores=$1 max_wait_s=$2 waited=0
  while true; do
    bench_cpu_mark
    sleep 5
    bench_quiet_cores=$(bench_cpu_others)
    if awk -v c="$bench_quiet_cores" -v m="$max_cores" 'BEGIN { exit !(c < m) }'; then
      bench_log "machine quiet enough: others use $bench_quiet_cores cores; load average" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
      return 0
    fi
    if [ "$waited" -ge "$max_wait_s" ]; then
      bench_log "warning: still busy after ${waited}s (others use $bench_quiet_cores cores," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg)); measuring anyway"
      return 0
    fi
    if [ $((waited % 60)) -eq 0 ]; then
      bench_log "waiting for a quieter machine: others use $bench_quiet_cores cores, load" \
        "average $(cut -d' ' -f1-3 /proc/loadavg)"
    fi
    sleep 10
    waited=$((waited + 15))
  done
}

# bench_analyze OUT_PREFIX ARGS...: runs perf_analyzer against bench_grpc with ARGS, writing
# OUT_PREFIX.txt (its summary), OUT_PREFIX.err (its progress) and OUT_PREFIX.csv, and sets
# bench_run_others (cores other processes used meanwhile). It runs in this shell, not a
# subshell, so that its CPU time is counted as ours. When perf_analyzer fails it exits with the
# analyzer's output if the server still runs (a real failure), and returns 1 if the server is
# gone.
bench_analyze() {
  local prefix=$1
  shift
  bench_cpu_mark
  if ! "$bench_analyzer_bin" -u "$bench_grpc" -f "$prefix.csv" "$@" >"$prefix.txt" \
    2>"$prefix.err"; then
    bench_server_alive || return 1
    cat "$prefix.err" "$prefix.txt" >&2
    bench_die "perf_analyzer $* failed (output above)"
  fi
  bench_run_others=$(bench_cpu_others)
}

# bench_measure OUT_PREFIX ARGS...: bench_scrape OUT_PREFIX.before, bench_analyze OUT_PREFIX
# ARGS..., bench_scrape OUT_PREFIX.after; when the server vanished meanwhile, starts it again and
# measures again (three times at most).
bench_measure() {
  local prefix=$1 _
  for _ in 1 2 3; do
    bench_server_alive || bench_restart_server
    if bench_scrape "$prefix.before" && bench_analyze "$@" && bench_scrape "$prefix.after"; then
      return 0
    fi
    bench_server_alive && bench_die "cannot read the metrics of a running server"
  done
  bench_die "the server vanished during three attempts at one measurement"
}

# bench_csv FILE COLUMN: the value of CSV column COLUMN in the first data row.
bench_csv() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
    NR == 2 { print $c }' "$1"
}

# bench_mean_batch FILE.txt: the analyzer's mean formed batch ("-" when it has none).
bench_mean_batch() {
  local v
  v=$(grep -o 'Mean formed batch: [0-9.]*' "$1" | head -1 | awk '{ print $4 }')
  echo "${v:--}"
}

# bench_stable FILE.txt: "yes", or "no" when a level's windows never agreed.
bench_stable() { if grep -q "NOT STABLE" "$1"; then echo no; else echo yes; fi; }

# bench_provenance: one line naming what was measured: the commit built (and whether the working
# tree had changes), or the --bin-dir the binaries came from, and the first 12 hex digits of
# speech_server's SHA-256.
bench_provenance() {
  local source
  if [ -n "$bench_bin_dir" ]; then
    source="binaries from $bench_bin_dir"
  else
    source="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    [ -n "$(git status --porcelain 2>/dev/null)" ] && source="$source with uncommitted changes"
  fi
  echo "$source; speech_server sha256 $(sha256sum "$bench_server_bin" | cut -c1-12)"
}

# The voice commands of tests/harness/espeak.cc, for the speech benchmarks to speak with espeak-ng
# (none holds a double quote or backslash, so they go into JSON as they are).
BENCH_VOICE_COMMANDS=(
  "Stop." "Turn left." "Turn right." "Go back." "Lights on." "Lights off." "Play some music."
  "What time is it?" "Call my mother." "Set a timer for ten minutes."
  "Turn the volume down a little." "Open the garage door." "Is it going to rain tomorrow?"
  "Read me the news." "Skip this song." "Remind me to buy milk."
  "Navigate to the nearest petrol station." "How far is it to the airport from here?"
  "Send a message to Anna saying I will be late." "Turn left at the next corner." "Pause."
  "Next." "Yes." "No, thank you." "Lock the front door and turn off the kitchen lights."
  "Add eggs, flour and sugar to the shopping list."
  "What is the weather like in Berlin this weekend?" "Take a picture."
  "Start the dishwasher in one hour." "Show me my calendar for next Tuesday afternoon."
  "The quick brown fox jumps over the lazy dog."
  "A journey of a thousand miles begins with a single step."
  "She sells sea shells by the sea shore." "Please speak a little more slowly." "Cancel."
  "Repeat that."
  "Find a good Italian restaurant that is open late tonight and book a table for four."
  "My flight leaves at half past seven, so wake me up at five."
  "How many kilometres are there in a marathon?" "Translate good morning into French."
  "Turn on the heating in the living room and set it to twenty one degrees." "Okay." "Louder."
  "Quieter." "What is on my shopping list?" "Where did I park the car?"
  "Call the office and tell them the meeting has moved to Thursday at three in the afternoon because the projector in the large room is broken."
  "Good night." "Record a voice memo."
  "When does the last train to the city leave on Sunday evenings?"
)
