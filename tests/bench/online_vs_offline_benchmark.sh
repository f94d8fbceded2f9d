#!/usr/bin/env bash
# Issue 11's proof in one run: tiny FastPitch and tiny wav2vec 2.0 on CPU, each alone on the real
# server with its default configuration, offline batch 1 and batch 8 from one client and online
# 16 concurrent batch-1 clients (dynamic batching), all with the same requests (FastPitch 64
# symbols, wav2vec 2.0 32,000 samples = 2 s). Rounds alternate the order (b1 b8 c16, then c16 b8
# b1, ...) so that drift on a shared machine falls on all three. Prints a Markdown table per
# model and the two checks: online >= 0.9x the better offline throughput, offline batch 8's p99
# <= 1.5x its p50 (both on the means over rounds).
# usage: tests/bench/online_vs_offline_benchmark.sh [--rounds=N] [--sample-count=N] [--models=M,...]
#   --rounds: default 2. --sample-count: distinct generated requests, cycled (perf_analyzer's
#   flag, default 16); 1 sends the same request every time, which separates the spread of the
#   inputs' costs from the execution's own jitter. --models: default fastpitch,wav2vec2.
#   BENCH_SERVER_FLAGS adds flags to the server's command line.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=2
samples=16
models=fastpitch,wav2vec2
for arg in "$@"; do
  case $arg in
    --rounds=*) rounds=${arg#--rounds=} ;;
    --sample-count=*) samples=${arg#--sample-count=} ;;
    --models=*) models=${arg#--models=} ;;
    *) echo "usage: $0 [--rounds=N] [--sample-count=N] [--models=fastpitch,wav2vec2]" >&2; exit 2 ;;
  esac
done
declare -A lengths=([fastpitch]=64 [wav2vec2]=32000)
for model in ${models//,/ }; do
  [ -n "${lengths[$model]:-}" ] || { echo "$0: unknown model '$model'" >&2; exit 2; }
done

bench_name=online-vs-offline
# shellcheck source=tests/bench/bench_common.sh
source tests/bench/bench_common.sh
bench_start_work ""
bench_build_binaries

# run MODEL LENGTH CASE ROUND: one perf_analyzer measurement; appends "case round infer/s p50 p99"
# (microseconds) to $bench_work/MODEL.rows.
run() {
  local model=$1 length=$2 case=$3 round=$4 args=()
  case $case in
    b1) args=(--concurrency-range=1 -b 1) ;;
    b8) args=(--concurrency-range=1 -b 8) ;;
    c16) args=(--concurrency-range=16) ;;
  esac
  bench_log "$model round $round: $case"
  # perf_analyzer's row: clients, infer/s, p50, p90, p95, p99, ...
  "$bench_analyzer_bin" -m "$model" -u "$bench_grpc" --length="$length" --sample-count="$samples" \
    -p 3000 -r 6 \
    "${args[@]}" 2>/dev/null | grep -E '^ *[0-9]' | tail -1 |
    awk -v c="$case" -v r="$round" '{ print c, r, $2, $3, $6 }' >>"$bench_work/$model.rows"
}

report() {
  local model=$1 length=$2
  echo
  echo "## $model ($length per request, $samples distinct requests), $rounds round(s)"
  echo
  awk '
    { n[$1]++; ips[$1] += $3; p50[$1] += $4; p99[$1] += $5; all[$1] = all[$1] " " $3 }
    END {
      print "| case | infer/s (mean; per round) | p50 ms | p99 ms | p99 / p50 |"
      print "| --- | --- | --- | --- | --- |"
      split("b1 b8 c16", order, " ")
      for (i = 1; i <= 3; i++) {
        c = order[i]
        if (!n[c]) continue
        printf "| %s | %.1f (%s) | %.1f | %.1f | %.2f |\n", c, ips[c] / n[c], substr(all[c], 2),
          p50[c] / n[c] / 1000, p99[c] / n[c] / 1000, p99[c] / p50[c]
      }
      for (c in n) mean[c] = ips[c] / n[c]
      best = (mean["b1"] > mean["b8"]) ? "b1" : "b8"
      ratio = mean["c16"] / mean[best]
      tail = p99["b8"] / p50["b8"]
      print ""
      printf "- online 16 clients / best offline (%s): **%.2fx** (target >= 0.9x): %s\n", best,
        ratio, ((ratio >= 0.9) ? "met" : "MISSED")
      printf "- offline batch 8 p99 / p50: **%.2f** (target <= 1.5): %s\n", tail,
        ((tail <= 1.5) ? "met" : "MISSED")
    }' "$bench_work/$model.rows"
}

echo "# Online against offline, tiny models on CPU"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU cores; commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
echo "Command: \`tests/bench/online_vs_offline_benchmark.sh --rounds=$rounds --sample-count=$samples --models=$models\`${BENCH_SERVER_FLAGS:+ with BENCH_SERVER_FLAGS=\"$BENCH_SERVER_FLAGS\"}"
for model in ${models//,/ }; do
  length=${lengths[$model]}
  bench_start_server "$bench_work/$model.log" "$bench_default_repository" \
    --model-control-mode=explicit --load-model="$model" ${BENCH_SERVER_FLAGS:-}
  for ((round = 1; round <= rounds; round++)); do
    if ((round % 2)); then cases="b1 b8 c16"; else cases="c16 b8 b1"; fi
    for case in $cases; do run "$model" "$length" "$case" "$round"; done
  done
  kill "$bench_server_pid"
  bench_reap_server
  report "$model" "$length"
done
