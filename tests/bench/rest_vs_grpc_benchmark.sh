#!/usr/bin/env bash
# REST against gRPC through the real server: our perf_analyzer over gRPC (-i grpc) and over
# HTTP/REST (-i http: POST /v2/models/identity/infer with Triton's binary tensor data extension,
# one keep-alive connection per client) against `identity` of the default repository, one FP32
# tensor of --elements values per request (default 256, 1 KiB), at each of --concurrency's
# levels (default 1 and 8). Per protocol and level: inferences/s and p50/p99 latency; then the
# REST/gRPC ratios, paired within a round.
#
# One speech_server on free loopback ports serves both protocols (the same process, model and
# batcher). Runs alternate in order (gRPC then REST, REST then gRPC, ...) over --rounds rounds.
# Before the server starts and before each round the script waits, up to --max-wait seconds,
# until other processes use under --quiet-cores cores; a run during which they used more is
# measured again after such a wait (three times at most), and every row reports the cores others
# used meanwhile. Progress goes to stderr, Markdown tables to stdout.
#
# For looking only, when NVIDIA's perf_analyzer is there (--triton-analyzer), it is also run
# against the same server with -i http and -i grpc at the same levels and windows, and the
# script reports whether it worked and what it measured. Nothing depends on it.
#
# usage: tests/bench/rest_vs_grpc_benchmark.sh [--quick] [--rounds=N] [--concurrency=LIST]
#            [--elements=N] [--out=DIR] [--bin-dir=DIR] [--repository=DIR]
#            [--triton-analyzer=PATH|none] [--quiet-cores=C] [--max-wait=S]
#   --quick             one round, 2 s windows (at most 5 per run); default 3 rounds of 5 s
#                       windows (at most 10 per run)
#   --rounds=N          rounds (default 3, or 1 with --quick)
#   --concurrency=LIST  comma-separated concurrency levels (default 1,8)
#   --elements=N        FP32 values in INPUT0 (default 256)
#   --out=DIR           keep the CSV files, analyzer outputs and server logs here (default: a
#                       temporary folder, removed at exit)
#   --bin-dir=DIR       speech_server and perf_analyzer from DIR, no Bazel; needs --repository
#   --repository=DIR    take `identity` from DIR/identity instead of the default repository
#   --triton-analyzer=P NVIDIA's perf_analyzer (default
#                       /work/shared/triton-clients/bin/perf_analyzer; skipped when absent or
#                       "none")
#   --quiet-cores=C     "quiet" means others use under C cores (default 0.5)
#   --max-wait=S        wait at most S seconds for a quiet machine each time (default 300)
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0 rounds="" levels_arg=1,8 elements=256 out_dir="" bin_dir="" repository_arg=""
triton=/work/shared/triton-clients/bin/perf_analyzer quiet_cores=0.5 max_wait=300
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --rounds=*) rounds=${arg#*=} ;;
    --concurrency=*) levels_arg=${arg#*=} ;;
    --elements=*) elements=${arg#*=} ;;
    --out=*) out_dir=${arg#*=} ;;
    --bin-dir=*) bin_dir=${arg#*=} ;;
    --repository=*) repository_arg=${arg#*=} ;;
    --triton-analyzer=*) triton=${arg#*=} ;;
    --quiet-cores=*) quiet_cores=${arg#*=} ;;
    --max-wait=*) max_wait=${arg#*=} ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "rest_vs_grpc_benchmark.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$rounds" ] || rounds=$([ "$quick" -eq 1 ] && echo 1 || echo 3)
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds must be a positive integer" >&2; exit 2; }
[[ "$elements" =~ ^[1-9][0-9]*$ ]] || { echo "--elements must be a positive integer" >&2; exit 2; }
[[ "$levels_arg" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  { echo "--concurrency must be positive integers separated by commas" >&2; exit 2; }
IFS=, read -r -a levels <<<"$levels_arg"
if [ -n "$bin_dir" ] && [ -z "$repository_arg" ]; then
  echo "--bin-dir needs --repository (a folder holding identity/)" >&2
  exit 2
fi

bench_name=rest-vs-grpc
# shellcheck source=tests/bench/bench_common.sh
source tests/bench/bench_common.sh
bench_start_work "$out_dir"
command -v curl >/dev/null || bench_die "curl is not installed (apt-get install curl)"

started=$(date +%s)
bench_build_binaries "$bin_dir"

# ------------------------------------------------------------------ repository and server
# Only identity, so that the server loads (and measures batch costs) in a moment.
repository=$bench_work/repository
mkdir -p "$repository"
source_repository=${repository_arg:-$bench_default_repository}
[ -f "$source_repository/identity/config.pbtxt" ] ||
  bench_die "no identity/config.pbtxt in $source_repository"
cp -r "$source_repository/identity" "$repository/identity"
chmod -R u+w "$repository"

# http_address: sets http_address (HOST:PORT) from the last server's log and checks that it
# answers.
http_address() {
  http_address=$(grep -o "Started HTTPService at [^ ]*" "$bench_server_log" | head -1 |
    awk '{ print $4 }')
  [ -n "$http_address" ] || bench_die "speech_server printed no HTTP port; see $bench_server_log"
  curl -sf "http://$http_address/v2/health/live" >/dev/null ||
    bench_die "the HTTP endpoint at $http_address does not answer /v2/health/live"
}

# bench_start_server turns HTTP off where the server has it; the later flags turn it back on,
# on loopback and a free port.
server_flags=(--allow-http=true --http-address=127.0.0.1 --http-port=0)
bench_wait_quiet "$quiet_cores" "$max_wait"
bench_log "starting speech_server with identity only"
bench_start_server "$bench_work/server.log" "$repository" "${server_flags[@]}"
http_address
bench_log "speech_server: gRPC at $bench_grpc, HTTP at $http_address, metrics at $bench_metrics"

# ------------------------------------------------------------------ runs
if [ "$quick" -eq 1 ]; then window_ms=2000 max_windows=5; else window_ms=5000 max_windows=10; fi
declare -A protocol_label=([grpc]=gRPC [http]=REST)
results=$bench_work/results.tsv
: >"$results"

# analyze PREFIX PROTOCOL CONCURRENCY: one perf_analyzer run, writing PREFIX.txt, .err and
# .csv, and setting bench_run_others. In this shell, so that its CPU time counts as ours. Exits
# with the analyzer's output when it fails while the server runs; returns 1 if the server is
# gone.
analyze() {
  local prefix=$1 protocol=$2 level=$3 url=$bench_grpc
  [ "$protocol" = http ] && url=$http_address
  bench_cpu_mark
  if ! "$bench_analyzer_bin" -m identity -i "$protocol" -u "$url" --shape "INPUT0:$elements" \
    --concurrency-range="$level" -p "$window_ms" -r "$max_windows" -f "$prefix.csv" \
    >"$prefix.txt" 2>"$prefix.err"; then
    bench_server_alive || return 1
    cat "$prefix.err" "$prefix.txt" >&2
    bench_die "perf_analyzer -i $protocol --concurrency-range=$level failed (output above)"
  fi
  bench_run_others=$(bench_cpu_others)
}

# measure ROUND CONCURRENCY PROTOCOL: one run, measured again (after waiting for a quiet
# machine, at most twice) when other processes used --quiet-cores or more meanwhile, or when
# the server vanished (it is started again); appends a row to results.tsv.
measure() {
  local round=$1 level=$2 protocol=$3 prefix=$bench_work/r$1_c$2_$3 try
  for try in 1 2 3; do
    if ! bench_server_alive; then
      bench_restart_server
      http_address
    fi
    bench_log "round $round, concurrency $level, ${protocol_label[$protocol]}" \
      "(${window_ms} ms windows, load average $(cut -d' ' -f1 /proc/loadavg))"
    if ! analyze "$prefix" "$protocol" "$level"; then
      [ "$try" -eq 3 ] && bench_die "the server vanished during three attempts at one run"
      continue
    fi
    if awk -v c="$bench_run_others" -v m="$quiet_cores" 'BEGIN { exit !(c < m) }' ||
      [ "$try" -eq 3 ]; then
      break
    fi
    bench_log "  others used $bench_run_others cores meanwhile; measuring again"
    bench_wait_quiet "$quiet_cores" "$max_wait"
  done
  local csv=$prefix.csv infer p50 p99 stable
  infer=$(bench_csv "$csv" "Inferences/Second")
  p50=$(bench_csv "$csv" "p50 latency") p99=$(bench_csv "$csv" "p99 latency")
  stable=$(bench_stable "$prefix.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$level" "$protocol" \
    "$infer" "$p50" "$p99" "$(bench_csv "$csv" "Avg latency")" "$(bench_csv "$csv" "Client Send")" \
    "$(bench_csv "$csv" "Client Recv")" "$stable" "$bench_run_others" "$try" >>"$results"
  bench_log "  $infer infer/s, p50 $p50 us, p99 $p99 us, others used $bench_run_others" \
    "cores$([ "$stable" = no ] && echo ', NOT STABLE')"
}

for round in $(seq 1 "$rounds"); do
  [ "$round" -gt 1 ] && bench_wait_quiet "$quiet_cores" "$max_wait"
  order=(grpc http)
  [ $((round % 2)) -eq 0 ] && order=(http grpc)
  for level in "${levels[@]}"; do
    for protocol in "${order[@]}"; do measure "$round" "$level" "$protocol"; done
  done
done

# ------------------------------------------------------------------ NVIDIA's perf_analyzer
# For looking only: its rows go to triton.tsv (protocol, level, infer/s, p50, p99, result).
triton_results=$bench_work/triton.tsv
: >"$triton_results"
triton_version=""
if [ "$triton" != none ] && [ -x "$triton" ]; then
  triton_version=$("$triton" --version 2>&1 | head -1 || true)
  for protocol in http grpc; do
    for level in "${levels[@]}"; do
      bench_server_alive || { bench_restart_server; http_address; }
      url=$bench_grpc
      [ "$protocol" = http ] && url=$http_address
      prefix=$bench_work/triton_c${level}_$protocol
      bench_log "NVIDIA perf_analyzer -i $protocol, concurrency $level (for looking only)"
      rc=0
      timeout 600 "$triton" -m identity -i "$protocol" -u "$url" --shape "INPUT0:$elements" \
        --concurrency-range "$level" -p "$window_ms" -r "$max_windows" -f "$prefix.csv" \
        >"$prefix.txt" 2>&1 || rc=$?
      if [ "$rc" -eq 0 ] && [ -s "$prefix.csv" ]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$protocol" "$level" \
          "$(bench_csv "$prefix.csv" "Inferences/Second")" "$(bench_csv "$prefix.csv" "p50 latency")" \
          "$(bench_csv "$prefix.csv" "p99 latency")" "worked" >>"$triton_results"
      else
        why=$(grep -v '^[[:space:]]*$' "$prefix.txt" | tail -1 | tr '\t|' '  ' | cut -c1-160)
        printf '%s\t%s\t-\t-\t-\t%s\n' "$protocol" "$level" "failed (exit $rc): ${why:-no output}" \
          >>"$triton_results"
      fi
    done
  done
else
  bench_log "no NVIDIA perf_analyzer at $triton; skipping the look at it"
fi
bench_stop_server
bench_log "done in $(($(date +%s) - started)) s"

# ------------------------------------------------------------------ tables
# stat LEVEL PROTOCOL COLUMN: "MEAN MIN MAX" of a column over the rounds.
stat() {
  awk -F'\t' -v l="$1" -v p="$2" -v c="$3" '$2 == l && $3 == p {
      n++; t += $c; if (n == 1 || $c < lo) lo = $c; if (n == 1 || $c > hi) hi = $c }
    END { if (n) printf "%.0f %.0f %.0f\n", t / n, lo, hi; else print "- - -" }' "$results"
}
# ratio_stat LEVEL COLUMN: "MEAN MIN MAX" over the rounds of REST's column / gRPC's, paired.
ratio_stat() {
  awk -F'\t' -v l="$1" -v c="$2" '$2 == l && $3 == "http" { x[$1] = $c }
    $2 == l && $3 == "grpc" { y[$1] = $c }
    END { for (k in x) if (y[k] > 0) { r = x[k] / y[k]; n++; t += r
            if (n == 1 || r < lo) lo = r; if (n == 1 || r > hi) hi = r }
          if (n) printf "%.2f %.2f %.2f\n", t / n, lo, hi; else print "- - -" }' "$results"
}
range() { if [ "$2" = "$3" ]; then echo "$1"; else echo "$1 ($2 to $3)"; fi; }

echo "# REST against gRPC: identity, INPUT0 FP32 [1, $elements], perf_analyzer -i grpc / -i http"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo |
  sed 's/.*: //')); $rounds round(s), $window_ms ms windows, at most $max_windows per run;" \
  "$([ "$quick" -eq 1 ] && echo 'quick mode' || echo 'full mode')."
echo "Build: $(bench_provenance)."
echo "Command: \`tests/bench/rest_vs_grpc_benchmark.sh $*\`"
echo
echo "Per run (latencies in us; client send and receive are encoding the request and checking"\
  "the reply):"
echo
echo "| round | clients | protocol | infer/s | p50 | p99 | avg | client send | client recv | stable | others' cores | tries |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
while IFS=$'\t' read -r round level protocol infer p50 p99 avg send recv stable others tries; do
  echo "| $round | $level | ${protocol_label[$protocol]} | $infer | $p50 | $p99 | $avg | $send | $recv | $stable | $others | $tries |"
done <"$results"
echo
echo "Summary (mean over rounds, range in brackets; ratios REST / gRPC, paired within a round):"
echo
echo "| clients | gRPC infer/s | REST infer/s | throughput ratio | gRPC p50 us | REST p50 us | p50 ratio | gRPC p99 us | REST p99 us | p99 ratio |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for level in "${levels[@]}"; do
  row="| $level"
  for column in 4 5 6; do
    for protocol in grpc http; do
      read -r m lo hi <<<"$(stat "$level" "$protocol" "$column")"
      row="$row | $(range "$m" "$lo" "$hi")"
    done
    read -r m lo hi <<<"$(ratio_stat "$level" "$column")"
    row="$row | $(range "${m}x" "${lo}x" "${hi}x")"
  done
  echo "$row |"
done
if [ -n "$triton_version" ]; then
  echo
  echo "NVIDIA's perf_analyzer ($triton_version) against the same server, same windows, for" \
    "looking only (one run each, after ours):"
  echo
  echo "| protocol | clients | infer/s | p50 us | p99 us | result |"
  echo "| --- | --- | --- | --- | --- | --- |"
  while IFS=$'\t' read -r protocol level infer p50 p99 result; do
    echo "| -i $protocol | $level | $infer | $p50 | $p99 | $result |"
  done <"$triton_results"
fi
exit 0
