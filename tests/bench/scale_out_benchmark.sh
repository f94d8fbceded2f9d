#!/usr/bin/env bash
# Scale-out behind an L7 gRPC proxy: three speech_server replicas on loopback behind Debian's
# HAProxy, configured from deploy/k8s/proxy/haproxy.cfg (proto h2 on both sides, roundrobin per
# request, GET /v2/health/ready on each replica's HTTP port, retry-on conn-failure empty-response
# 503), driven by our perf_analyzer over gRPC through the proxy (`-m fastpitch`, tiny, CPU,
# --length-range=64:256, --concurrency clients). It reports:
#   spread     each replica's nv_inference_request_success{model="fastpitch"} over one run with
#              all three enabled, as counts and max/min
#   restart    one replica restarted under load: SIGTERM (it reports not ready and drains for
#              --drain-secs, HAProxy's health check takes it out), exit, start again, ready,
#              back in; the requests the client saw fail (per measurement window, all of them),
#              and HAProxy's own retries and errors for the replica meanwhile
#   scaling    inferences/s with 1, 2 and 3 replicas enabled behind the same proxy (the others
#              put in maintenance through HAProxy's runtime API), and with perf_analyzer on
#              replica 1 directly (the proxy's cost)
# On a 2-core machine the replicas, HAProxy and perf_analyzer share the same cores, so the
# scaling rows show the proxy's overhead and fairness, not capacity.
#
# Exits 1 when a replica never becomes ready (or HAProxy never sees it up), or when any request
# fails during the restart; failures in the other runs are reported and also exit 1. Every
# process it starts is stopped on exit (trap). Progress goes to stderr, Markdown to stdout.
#
# Ports (loopback only): --base-port (default 19000) + 1 is the proxy's gRPC frontend; replica N
# (1 to 3) has HTTP base+10N, gRPC base+10N+1 and metrics base+10N+2, the layout of
# haproxy.cfg's 8000/8001, 8010/8011, 8020/8021. A port already taken is an error.
#
# usage: tests/bench/scale_out_benchmark.sh [--quick] [--concurrency=N] [--window-ms=MS]
#            [--max-windows=N] [--restart-load-secs=S] [--drain-secs=S] [--base-port=P]
#            [--out=DIR] [--bin-dir=DIR] [--repository=DIR] [--ready-timeout=S]
#   --quick               2 s windows (at most 5 per run), 45 s of load around the restart;
#                         default 5 s windows (at most 10 per run), 75 s
#   --concurrency=N       perf_analyzer clients (default 16)
#   --window-ms=MS        measurement windows of MS ms instead (perf_analyzer -p)
#   --max-windows=N       at most N windows per run instead (perf_analyzer -r, at least 3)
#   --restart-load-secs=S how long the load runs around the restart (at least 20)
#   --drain-secs=S        the replicas' --drain-period-secs (default 2)
#   --base-port=P         see above (default 19000)
#   --out=DIR             keep the configuration, CSV files, analyzer outputs and logs here
#                         (default: a temporary folder, removed at exit)
#   --bin-dir=DIR         speech_server and perf_analyzer from DIR, no Bazel; needs --repository
#   --repository=DIR      take fastpitch from DIR/fastpitch instead of the default repository
#   --ready-timeout=S     how long a replica may take to become ready (default 300)
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0 concurrency=16 window_arg="" max_windows_arg="" restart_load_arg="" drain_secs=2
base_port=19000 out_dir="" bin_dir="" repository_arg="" ready_timeout=300
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --concurrency=*) concurrency=${arg#*=} ;;
    --window-ms=*) window_arg=${arg#*=} ;;
    --max-windows=*) max_windows_arg=${arg#*=} ;;
    --restart-load-secs=*) restart_load_arg=${arg#*=} ;;
    --drain-secs=*) drain_secs=${arg#*=} ;;
    --base-port=*) base_port=${arg#*=} ;;
    --out=*) out_dir=${arg#*=} ;;
    --bin-dir=*) bin_dir=${arg#*=} ;;
    --repository=*) repository_arg=${arg#*=} ;;
    --ready-timeout=*) ready_timeout=${arg#*=} ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale_out_benchmark.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$quick" -eq 1 ]; then window_ms=2000 max_windows=5 restart_load_s=45
else window_ms=5000 max_windows=10 restart_load_s=75; fi
window_ms=${window_arg:-$window_ms} max_windows=${max_windows_arg:-$max_windows}
restart_load_s=${restart_load_arg:-$restart_load_s}
for pair in "concurrency=$concurrency" "window-ms=$window_ms" "max-windows=$max_windows" \
  "restart-load-secs=$restart_load_s" "drain-secs=$drain_secs" "base-port=$base_port" \
  "ready-timeout=$ready_timeout"; do
  [[ "${pair#*=}" =~ ^[0-9]+$ ]] || { echo "--${pair%%=*} must be a whole number" >&2; exit 2; }
done
[ "$concurrency" -ge 1 ] || { echo "--concurrency must be at least 1" >&2; exit 2; }
[ "$max_windows" -ge 3 ] || { echo "--max-windows must be at least 3" >&2; exit 2; }
[ "$restart_load_s" -ge 20 ] || { echo "--restart-load-secs must be at least 20" >&2; exit 2; }
if [ "$base_port" -lt 1024 ] || [ "$base_port" -gt 65000 ]; then
  echo "--base-port must be in [1024, 65000]" >&2
  exit 2
fi
if [ -n "$bin_dir" ] && [ -z "$repository_arg" ]; then
  echo "--bin-dir needs --repository (a folder holding fastpitch/)" >&2
  exit 2
fi

bench_name=scale-out
# shellcheck source=tests/bench/bench_common.sh
source tests/bench/bench_common.sh
# bench_cleanup stops every pid in bench_server_pids: the replicas, HAProxy and a perf_analyzer
# running in the background are all put there.
bench_start_work "$out_dir"
trap 'exit 130' INT
trap 'exit 143' TERM
haproxy_bin=/usr/sbin/haproxy
[ -x "$haproxy_bin" ] || bench_die "no HAProxy at $haproxy_bin (deploy/install_deps.sh installs it)"
command -v curl >/dev/null || bench_die "curl is not installed (apt-get install curl)"
proxy_template=deploy/k8s/proxy/haproxy.cfg
[ -f "$proxy_template" ] || bench_die "no $proxy_template"

started=$(date +%s)
model=fastpitch
analyzer_load=(-m "$model" --length-range=64:256 --concurrency-range="$concurrency")
replicas=(1 2 3)
proxy_port=$((base_port + 1))
http_port() { echo $((base_port + 10 * $1)); }
grpc_port() { echo $((base_port + 10 * $1 + 1)); }
metrics_port() { echo $((base_port + 10 * $1 + 2)); }

for port in "$proxy_port" $(for n in "${replicas[@]}"; do
  http_port "$n"; grpc_port "$n"; metrics_port "$n"; done); do
  if [ -n "$(ss -ltnH "sport = :$port" 2>/dev/null)" ]; then
    bench_die "port $port is already in use (choose another --base-port)"
  fi
done

bench_build_binaries "$bin_dir"

# ------------------------------------------------------------------ repository
repository=$bench_work/repository
mkdir -p "$repository"
source_repository=${repository_arg:-$bench_default_repository}
[ -f "$source_repository/$model/config.pbtxt" ] ||
  bench_die "no $model/config.pbtxt in $source_repository"
cp -r "$source_repository/$model" "$repository/$model"
chmod -R u+w "$repository"

# ------------------------------------------------------------------ processes
declare -A replica_pid replica_log replica_starts

# forget_pid PID: PID has been waited for; cleanup must not signal it (the system may reuse it).
forget_pid() {
  local remaining=() pid
  for pid in "${bench_server_pids[@]}"; do [ "$pid" = "$1" ] || remaining+=("$pid"); done
  bench_server_pids=("${remaining[@]}")
}

# bench_cpu_ours, for bench_cpu_mark and bench_cpu_others: here every live replica, HAProxy and
# this shell's waited-for children (perf_analyzer, replicas that exited).
bench_cpu_ours() {
  local total=0 pid
  for pid in "${bench_server_pids[@]}"; do
    [ -r "/proc/$pid/stat" ] &&
      total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
  done
  echo $((total + $(sed 's/.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }')))
}

# start_replica N: starts replica N on its fixed ports, logging to a new file.
start_replica() {
  local n=$1
  replica_starts[$n]=$((${replica_starts[$n]:-0} + 1))
  replica_log[$n]=$bench_work/replica$n.log
  [ "${replica_starts[$n]}" -gt 1 ] && replica_log[$n]=$bench_work/replica$n.${replica_starts[$n]}.log
  "$bench_server_bin" --model-repository="$repository" --grpc-address=127.0.0.1 \
    --grpc-port="$(grpc_port "$n")" --http-address=127.0.0.1 --http-port="$(http_port "$n")" \
    --metrics-address=127.0.0.1 --metrics-port="$(metrics_port "$n")" \
    --drain-period-secs="$drain_secs" >"${replica_log[$n]}" 2>&1 &
  replica_pid[$n]=$!
  bench_server_pids+=("$!")
}

# await_ready N: waits until replica N answers GET /v2/health/ready with 200 (it measures its
# batch costs while loading); exits 1 when it exits first or is not ready in --ready-timeout.
await_ready() {
  local n=$1 deadline=$(($(date +%s) + ready_timeout))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if curl -sf -o /dev/null "http://127.0.0.1:$(http_port "$n")/v2/health/ready"; then
      return 0
    fi
    if ! kill -0 "${replica_pid[$n]}" 2>/dev/null; then
      tail -20 "${replica_log[$n]}" >&2
      bench_die "replica $n (pid ${replica_pid[$n]}) exited before it was ready; the end of" \
        "its log is above"
    fi
    sleep 0.25
  done
  tail -20 "${replica_log[$n]}" >&2
  bench_die "replica $n never became ready in ${ready_timeout}s; the end of its log is above"
}

# stop_replica N: SIGTERM to replica N and waits for it to exit; sets stop_status and stop_secs.
stop_replica() {
  local n=$1 t0
  t0=$(date +%s.%N)
  kill -TERM "${replica_pid[$n]}" 2>/dev/null ||
    bench_die "replica $n (pid ${replica_pid[$n]}) is gone already (see ${replica_log[$n]})"
  stop_status=0
  wait "${replica_pid[$n]}" || stop_status=$?
  stop_secs=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
  forget_pid "${replica_pid[$n]}"
}

# ------------------------------------------------------------------ HAProxy
# The repository's configuration with our ports: its frontend bound to the proxy port, its
# server lines replaced by the three replicas (keeping the options of its first server line,
# with the health-check port made each replica's HTTP port), plus an admin socket for the
# runtime API and state-change logs on stdout. Everything else (timeouts, balance, the health
# check, retry-on) is the repository's.
haproxy_socket=$bench_work/haproxy.sock
haproxy_cfg=$bench_work/haproxy.cfg
haproxy_log=$bench_work/haproxy.log
write_haproxy_cfg() {
  local server_options
  server_options=$(awk '$1 == "server" { $1 = $2 = $3 = ""; print; exit }' "$proxy_template")
  [[ "$server_options" == *"check port "* ]] ||
    bench_die "$proxy_template: its server lines have no 'check port N'"
  awk -v socket="$haproxy_socket" -v bind="127.0.0.1:$proxy_port" -v options="$server_options" \
    -v replicas="${replicas[*]}" -v base="$base_port" '
    function servers(   n, i, opts) {
      split(replicas, list, " ")
      for (i = 1; i in list; i++) {
        n = list[i]; opts = options
        sub(/check port [0-9]+/, "check port " (base + 10 * n), opts)
        gsub(/^ +/, "", opts)
        printf "    server replica%d 127.0.0.1:%d %s\n", n, base + 10 * n + 1, opts
      }
    }
    $1 == "global" { print; print "    stats socket " socket " mode 600 level admin"
                     print "    log stdout format raw local0 notice"; next }
    $1 == "defaults" { print; print "    log global"; next }
    $1 == "bind" { print "    bind " bind " proto h2"; next }
    $1 == "server" { if (!done) servers(); done = 1; next }
    { print }' "$proxy_template" >"$haproxy_cfg"
  "$haproxy_bin" -c -q -f "$haproxy_cfg" >"$bench_work/haproxy_check.txt" 2>&1 || {
    cat "$bench_work/haproxy_check.txt" >&2
    bench_die "haproxy -c rejects the generated $haproxy_cfg"
  }
}

# haproxy_cmd COMMAND: runs one command on HAProxy's runtime API and prints its answer.
haproxy_cmd() {
  /usr/bin/python3 - "$haproxy_socket" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
chunks = []
while True:
    data = s.recv(65536)
    if not data:
        break
    chunks.append(data)
sys.stdout.write(b"".join(chunks).decode())
EOF
}

# haproxy_stat SERVER FIELD...: the backend server's fields from `show stat` (CSV), one line.
haproxy_stat() {
  local server=$1
  shift
  haproxy_cmd "show stat" | awk -F, -v server="$server" -v fields="$*" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) column[$i] = i; next }
    $1 == "speech_server" && $2 == server {
      n = split(fields, f, " "); line = ""
      for (i = 1; i <= n; i++) line = line (i > 1 ? " " : "") $(column[f[i]])
      print line }'
}

# await_proxy_state N STATE: waits up to 30 s until HAProxy reports replica N in STATE (UP, DOWN,
# MAINT); exits 1 otherwise.
await_proxy_state() {
  local n=$1 want=$2 state="" _
  for _ in $(seq 1 120); do
    state=$(haproxy_stat "replica$n" status)
    [ "${state%% *}" = "$want" ] && return 0
    sleep 0.25
  done
  bench_die "HAProxy reports replica $n as '$state', not $want, after 30 s (see $haproxy_log)"
}

start_haproxy() {
  write_haproxy_cfg
  "$haproxy_bin" -db -f "$haproxy_cfg" >"$haproxy_log" 2>&1 &
  haproxy_pid=$!
  bench_server_pids+=("$haproxy_pid")
  local _
  for _ in $(seq 1 40); do
    [ -S "$haproxy_socket" ] && haproxy_cmd "show info" >/dev/null 2>&1 && return 0
    kill -0 "$haproxy_pid" 2>/dev/null || { cat "$haproxy_log" >&2; bench_die "HAProxy exited"; }
    sleep 0.25
  done
  bench_die "HAProxy's runtime API did not answer in 10 s (see $haproxy_log)"
}

# set_enabled N...: only the replicas named serve; the others are put in maintenance.
set_enabled() {
  local n
  for n in "${replicas[@]}"; do
    if [[ " $* " == *" $n "* ]]; then
      haproxy_cmd "enable server speech_server/replica$n" >/dev/null
      await_proxy_state "$n" UP
    else
      haproxy_cmd "disable server speech_server/replica$n" >/dev/null
      await_proxy_state "$n" MAINT
    fi
  done
}

# ------------------------------------------------------------------ measurements
# success N: replica N's nv_inference_request_success for the model (0 when it cannot be read).
success() {
  curl -sf "http://127.0.0.1:$(metrics_port "$1")/metrics" 2>/dev/null | awk -v model="$model" '
    index($0, "nv_inference_request_success{") == 1 && index($0, "model=\"" model "\"") {
      v += $NF }
    END { printf "%d\n", v }'
}

# window_errors FILE.err: failed requests over every window perf_analyzer reported.
window_errors() {
  grep -o 'window [0-9]*/[0-9]*: .*errors [0-9]*' "$1" | awk '{ n += $NF } END { print n + 0 }'
}

# analyze PREFIX ARGS...: perf_analyzer through the proxy (or at analyze_url), writing
# PREFIX.txt, .err and .csv; sets run_others (cores other processes used meanwhile) and
# run_errors. Exits with its output when it fails.
analyze_url=127.0.0.1:$proxy_port
analyze() {
  local prefix=$1
  shift
  bench_cpu_mark
  if ! "$bench_analyzer_bin" -u "$analyze_url" "${analyzer_load[@]}" \
    -f "$prefix.csv" "$@" >"$prefix.txt" 2>"$prefix.err"; then
    cat "$prefix.err" "$prefix.txt" >&2
    bench_die "perf_analyzer $* failed (output above)"
  fi
  run_others=$(bench_cpu_others)
  run_errors=$(window_errors "$prefix.err")
}

# measure LABEL REPLICAS...: one run with only REPLICAS enabled; appends to results.tsv: label,
# replicas enabled, infer/s, p50, p99, errors, others' cores, stable, then each replica's
# served requests. With label "direct", perf_analyzer talks to replica 1 itself, not the proxy.
results=$bench_work/results.tsv
: >"$results"
other_failures=0
measure() {
  local label=$1 n
  shift
  set_enabled "$@"
  local before=() after=() deltas=()
  for n in "${replicas[@]}"; do before+=("$(success "$n")"); done
  local where="$# replica(s) enabled behind the proxy ($*)"
  analyze_url=127.0.0.1:$proxy_port
  if [ "$label" = direct ]; then
    where="replica 1 directly, no proxy"
    analyze_url=127.0.0.1:$(grpc_port 1)
  fi
  bench_log "$label: $where, $concurrency clients, ${window_ms} ms windows (load average" \
    "$(cut -d' ' -f1 /proc/loadavg))"
  analyze "$bench_work/$label" -p "$window_ms" -r "$max_windows"
  analyze_url=127.0.0.1:$proxy_port
  for n in "${replicas[@]}"; do after+=("$(success "$n")"); done
  for n in "${!replicas[@]}"; do deltas+=("$((after[n] - before[n]))"); done
  local csv=$bench_work/$label.csv
  local infer p50 p99 stable
  infer=$(bench_csv "$csv" "Inferences/Second")
  p50=$(bench_csv "$csv" "p50 latency") p99=$(bench_csv "$csv" "p99 latency")
  stable=$(bench_stable "$bench_work/$label.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$#" "$infer" "$p50" "$p99" \
    "$run_errors" "$run_others" "$stable" "${deltas[*]}" >>"$results"
  other_failures=$((other_failures + run_errors))
  bench_log "  $infer infer/s, p50 $p50 us, p99 $p99 us, $run_errors failed; served per" \
    "replica: ${deltas[*]}; others used $run_others cores$([ "$stable" = no ] && echo ', NOT STABLE')"
}

# ------------------------------------------------------------------ run
bench_log "note: this machine has $(nproc) cores; the three replicas, HAProxy and perf_analyzer" \
  "share them, so more replicas add no capacity here"
bench_wait_quiet 0.5 120
bench_log "starting replicas 1 to 3 (gRPC ports $(grpc_port 1), $(grpc_port 2), $(grpc_port 3);" \
  "HTTP $(http_port 1), $(http_port 2), $(http_port 3); metrics $(metrics_port 1)," \
  "$(metrics_port 2), $(metrics_port 3); --drain-period-secs=$drain_secs)"
replicas_started=$(date +%s)
for n in "${replicas[@]}"; do start_replica "$n"; done
for n in "${replicas[@]}"; do await_ready "$n"; done
bench_log "all three replicas ready after $(($(date +%s) - replicas_started)) s"
start_haproxy
for n in "${replicas[@]}"; do await_proxy_state "$n" UP; done
bench_log "HAProxy $("$haproxy_bin" -v | head -1 | awk '{ print $3 }') at 127.0.0.1:$proxy_port" \
  "sees the three replicas up (configuration $haproxy_cfg, from $proxy_template)"

bench_log "warming up (one short run through the proxy)"
analyze "$bench_work/warmup" -p 2000 -r 3
other_failures=$((other_failures + run_errors))

# Spread and 3-replica throughput in one run, then 2 and 1.
measure three 1 2 3
measure two 1 2
measure one 1
measure direct 1
set_enabled 1 2 3

# ------------------------------------------------------------------ restart under load
# perf_analyzer with a stability percentage that never agrees runs exactly its windows; the
# restart happens inside them.
restart_windows=$(((restart_load_s * 1000 + 4999) / 5000))
[ "$restart_windows" -ge 3 ] || restart_windows=3
victim=2
restart_prefix=$bench_work/restart
read -r retr0 redis0 econ0 eresp0 <<<"$(haproxy_stat "replica$victim" wretr wredis econ eresp)"
bench_log "restart: $restart_windows windows of 5 s under load; replica $victim gets SIGTERM" \
  "after 10 s"
bench_cpu_mark
"$bench_analyzer_bin" -u "127.0.0.1:$proxy_port" "${analyzer_load[@]}" -p 5000 \
  -r "$restart_windows" -s 0.0001 -f "$restart_prefix.csv" >"$restart_prefix.txt" \
  2>"$restart_prefix.err" &
analyzer_pid=$!
bench_server_pids+=("$analyzer_pid")
sleep 10
kill -0 "$analyzer_pid" 2>/dev/null || {
  cat "$restart_prefix.err" >&2
  bench_die "perf_analyzer ended before the restart (output above)"
}
served_before_stop=$(success "$victim")
t_signal=$(date +%s.%N)
bench_log "  SIGTERM to replica $victim (pid ${replica_pid[$victim]}), which served" \
  "$served_before_stop requests"
( # how long HAProxy takes to see it go, measured beside the drain
  for _ in $(seq 1 200); do
    state=$(haproxy_stat "replica$victim" status)
    [ "${state%% *}" = DOWN ] && break
    sleep 0.1
  done
  awk -v a="$(date +%s.%N)" -v b="$t_signal" 'BEGIN { printf "%.2f\n", a - b }' \
    >"$bench_work/down_after.txt"
) &
watcher_pid=$!
stop_replica "$victim"
wait "$watcher_pid" || true
down_after=$(cat "$bench_work/down_after.txt")
bench_log "  HAProxy marked it DOWN ${down_after} s after the signal; it exited with status" \
  "$stop_status after $stop_secs s"
t_start=$(date +%s.%N)
start_replica "$victim"
await_ready "$victim"
ready_after=$(awk -v a="$(date +%s.%N)" -v b="$t_start" 'BEGIN { printf "%.1f", a - b }')
await_proxy_state "$victim" UP
up_after=$(awk -v a="$(date +%s.%N)" -v b="$t_start" 'BEGIN { printf "%.1f", a - b }')
bench_log "  started again: ready after $ready_after s, UP in HAProxy after $up_after s"
kill -0 "$analyzer_pid" 2>/dev/null ||
  bench_log "  warning: the load ended before the replica was back (raise --restart-load-secs)"
analyzer_status=0
wait "$analyzer_pid" || analyzer_status=$?
forget_pid "$analyzer_pid"
restart_others=$(bench_cpu_others)
[ "$analyzer_status" -eq 0 ] || {
  cat "$restart_prefix.err" "$restart_prefix.txt" >&2
  bench_die "perf_analyzer failed during the restart (status $analyzer_status, output above)"
}
served_after_restart=$(success "$victim")
read -r retr1 redis1 econ1 eresp1 <<<"$(haproxy_stat "replica$victim" wretr wredis econ eresp)"
restart_errors=$(window_errors "$restart_prefix.err")
restart_requests=$(grep -o 'window [0-9]*/[0-9]*: [0-9.]* infer/s' "$restart_prefix.err" |
  awk '{ n += $3 * 5 } END { printf "%.0f\n", n }')
first_error=$(grep -o 'first error: .*' "$restart_prefix.err" | head -1 || true)
bench_log "  $restart_errors failed requests of about $restart_requests; the restarted replica" \
  "served $served_after_restart after it came back; HAProxy for it: $((retr1 - retr0))" \
  "retries, $((redis1 - redis0)) redispatches, $((econ1 - econ0)) connection errors," \
  "$((eresp1 - eresp0)) response errors"
state_changes=$(grep -c 'replica' "$haproxy_log" || true)

set_enabled 1 2 3
for n in 1 3; do kill -0 "${replica_pid[$n]}" 2>/dev/null ||
  bench_die "replica $n exited during the run (see ${replica_log[$n]})"; done
bench_log "done in $(($(date +%s) - started)) s"

# ------------------------------------------------------------------ tables
echo "# Scale-out behind HAProxy: $model (tiny, CPU), $concurrency gRPC clients through the proxy"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo |
  sed 's/.*: //')); HAProxy $("$haproxy_bin" -v | head -1 | awk '{ print $3 }'); windows of" \
  "$window_ms ms, at most $max_windows per run$([ "$quick" -eq 1 ] && echo '; quick mode')."
echo "Build: $(bench_provenance)."
echo "Command: \`tests/bench/scale_out_benchmark.sh $*\`"
echo
echo "The three replicas, HAProxy and perf_analyzer share this machine's $(nproc) cores: more" \
  "replicas add no capacity here, so the rows below measure the proxy's spread and overhead," \
  "not scaling. A shared machine makes the numbers noisy (others' cores column)."
echo
echo "| replicas enabled | infer/s | p50 us | p99 us | failed | served by replica 1 / 2 / 3 | max/min of the enabled | others' cores | stable |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
while IFS=$'\t' read -r label count infer p50 p99 errors others stable deltas; do
  read -r -a served <<<"$deltas"
  ratio=$(printf '%s\n' "${served[@]:0:$count}" |
    awk 'NR == 1 || $1 > hi { hi = $1 } NR == 1 || $1 < lo { lo = $1 }
      END { if (lo > 0) printf "%.3f", hi / lo; else print "-" }')
  what=$count
  [ "$label" = direct ] && what="1, no proxy (replica 1 directly)"
  echo "| $what | $infer | $p50 | $p99 | $errors | ${served[0]} / ${served[1]} / ${served[2]} | $ratio | $others | $stable |"
done <"$results"
echo
echo "Restart of replica $victim under load (--drain-period-secs=$drain_secs; HAProxy checks" \
  "every 1 s, fall 1, rise 1):"
echo
echo "| | |"
echo "| --- | --- |"
echo "| requests during the restart run (about) | $restart_requests |"
echo "| failed requests seen by perf_analyzer (every window) | **$restart_errors**${first_error:+ ($first_error)} |"
echo "| HAProxy marked it DOWN after SIGTERM | $down_after s |"
echo "| it exited (status $stop_status) after SIGTERM | $stop_secs s |"
echo "| ready again after its new start | $ready_after s |"
echo "| UP in HAProxy after its new start | $up_after s |"
echo "| requests it served after coming back | $served_after_restart |"
echo "| HAProxy for it: retries / redispatches / connection errors / response errors | $((retr1 - retr0)) / $((redis1 - redis0)) / $((econ1 - econ0)) / $((eresp1 - eresp0)) |"
echo "| others' cores during the restart run | $restart_others |"
echo
echo "perf_analyzer's gRPC channel has the client library's retry policy (UNAVAILABLE, 3" \
  "attempts), so \"failed\" counts what a client of the proxy would see after that;" \
  "$state_changes HAProxy log line(s) name a replica ($haproxy_log)."

status=0
if [ "$restart_errors" -gt 0 ]; then
  bench_log "FAILED: $restart_errors requests failed during the restart"
  status=1
fi
if [ "$other_failures" -gt 0 ]; then
  bench_log "FAILED: $other_failures requests failed in the other runs"
  status=1
fi
exit "$status"
