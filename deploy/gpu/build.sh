#!/usr/bin/env bash
# Builds and tests the speech server on the GPU host (CUDA, CMake, ninja, a pip PyTorch with CUDA;
# no Bazel, no network). Run from the repository root, with the Debian 12 libraries made HERE by
# deploy/gpu/pack_deps.sh carried along (deploy/gpu/.deps/ or deploy/gpu/.deps.tar.gz):
#
#   bash deploy/gpu/build.sh              # check, configure, build, export models, ctest, GPU smoke
#   STAGES="check build" bash deploy/gpu/build.sh      # any subset of: check build models test smoke
#
# Environment: BUILD_DIR (default /tmp/gpu_build), JOBS (default: all cores), OUT (if set, logs
# and a summary are written there: the device tool brings $OUT back), CTEST_ARGS (extra ctest
# arguments, e.g. "-R e2e"), FULL_MODELS=0 to skip exporting the full-size fp16 repository,
# PYTHON (default python3: the one with torch), CMAKE_ARGS (more -D settings, e.g.
# "-DLIBTORCH_INCLUDE=... -DLIBTORCH_LIB=..." instead of find_package).
#
# It is for the GPU host: without a usable GPU, or with a torch (LibTorch) built without CUDA, it
# stops with a message saying which. To try it elsewhere: ALLOW_NO_GPU=1 goes on without a GPU
# (a CUDA torch still required; the GPU repositories and the smoke test are skipped);
# ALLOW_CPU_TORCH=1 goes on with a CPU-only torch too (and implies ALLOW_NO_GPU=1).
#
# Produces, under BUILD_DIR: runfiles/server/speech_server, runfiles/client/cli/speech_client and the
# other executables (Bazel's runfiles layout, where the tests expect them); repository/tiny (the
# tests' CPU repository, also runfiles/models/repository), repository/tiny_gpu (same models on
# the GPU) and repository/full_fp16 (full-size fp16 models on the GPU, for benchmarks).
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
root=$PWD
BUILD_DIR=${BUILD_DIR:-/tmp/gpu_build}
JOBS=${JOBS:-$(nproc)}
STAGES=${STAGES:-check build models test smoke}
FULL_MODELS=${FULL_MODELS:-1}
PYTHON=${PYTHON:-python3}
ALLOW_CPU_TORCH=${ALLOW_CPU_TORCH:-0}
ALLOW_NO_GPU=${ALLOW_NO_GPU:-$ALLOW_CPU_TORCH}
LOG_DIR=${OUT:-$BUILD_DIR/logs}
mkdir -p "$LOG_DIR" "$BUILD_DIR"
summary="$LOG_DIR/summary.txt"
: >"$summary"
started=$(date +%s)

say() { echo "[gpu] $*" | tee -a "$summary"; }
fail() { echo "[gpu] FAILED: $*" | tee -a "$summary" >&2; exit 1; }
stage() { [[ " $STAGES " == *" $1 "* ]]; }
elapsed() { echo "$(( $(date +%s) - started )) s"; }

# ----------------------------------------------------------------------------- carried libraries
deps=""
if [ -d "$root/deploy/gpu/.deps/usr/include" ]; then
  deps="$root/deploy/gpu/.deps"
elif [ -f "$root/deploy/gpu/.deps.tar.gz" ]; then
  deps=/tmp/speech_gpu_deps
  if [ ! -f "$deps/MANIFEST" ] || [ "$root/deploy/gpu/.deps.tar.gz" -nt "$deps/MANIFEST" ]; then
    rm -rf "$deps" && mkdir -p "$deps" && tar -xzf "$root/deploy/gpu/.deps.tar.gz" -C "$deps" \
      || fail "cannot unpack deploy/gpu/.deps.tar.gz"
  fi
fi
no_deps="no carried libraries: run deploy/gpu/pack_deps.sh on Debian 12 and carry \
deploy/gpu/.deps (or deploy/gpu/.deps.tar.gz) along"
# The check stage lists this with the host's other problems; any other stage stops here.
stage check || [ -n "$deps" ] || fail "$no_deps"
deps_lib="$deps/usr/lib/x86_64-linux-gnu"

gpu_ok() { "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }
# no_gpu WHAT: WHAT cannot run without a GPU: fails, or (ALLOW_NO_GPU=1) says it is skipped.
no_gpu() {
  [ "$ALLOW_NO_GPU" = 1 ] || fail "torch sees no usable GPU, so $1 cannot run (set ALLOW_NO_GPU=1 to skip it)"
  say "torch sees no GPU (ALLOW_NO_GPU=1): skipping $1"
}
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }  # $1 >= $2

# ----------------------------------------------------------------------------- check
if stage check; then
  say "checking the host ($(uname -n), $(uname -m), $(nproc) cores)"
  problems=0
  problem() { say "  PROBLEM: $*"; problems=$((problems + 1)); }
  [ "$(uname -m)" = x86_64 ] || problem "this is $(uname -m); the carried Debian libraries are x86_64"
  [ -n "$deps" ] || problem "$no_deps"

  if [ -n "$deps" ]; then  # the carried libraries run here
    need_glibc=$(sed -n 's/^requires_glibc=//p' "$deps/MANIFEST")
    need_glibcxx=$(sed -n 's/^requires_glibcxx=//p' "$deps/MANIFEST")
    host_glibc=$(ldd --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+$')
    if [ -z "$host_glibc" ]; then
      problem "cannot read the host's glibc version (ldd --version)"
    elif version_ge "$host_glibc" "$need_glibc"; then
      say "  glibc $host_glibc (the carried Debian 12 libraries need $need_glibc): ok"
    else
      problem "glibc $host_glibc is older than the $need_glibc the carried Debian 12 libraries need"
    fi
    libstdcxx=$(c++ -print-file-name=libstdc++.so.6 2>/dev/null)
    [ -f "$libstdcxx" ] || libstdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }')
    if [ -f "$libstdcxx" ]; then
      host_glibcxx=$(grep -aoE 'GLIBCXX_3\.4\.[0-9]+' "$libstdcxx" | sort -uV | tail -1)
      if version_ge "${host_glibcxx#GLIBCXX_}" "$need_glibcxx"; then
        say "  libstdc++ $host_glibcxx (needed: GLIBCXX_$need_glibcxx): ok"
      else
        problem "libstdc++ $libstdcxx offers $host_glibcxx; the carried libraries (GCC 12) need GLIBCXX_$need_glibcxx"
      fi
    else
      problem "no libstdc++.so.6 found"
    fi
    if out=$(LD_LIBRARY_PATH="$deps_lib" "$deps/usr/bin/protoc" --version 2>&1); then
      say "  carried protoc runs: $out"
    else
      problem "the carried protoc does not run here: $out"
    fi
    if ! out=$(LD_LIBRARY_PATH="$deps_lib" "$deps/usr/bin/grpc_cpp_plugin" </dev/null 2>&1) \
       && echo "$out" | grep -qE 'error while loading|not found|GLIBC'; then
      problem "the carried grpc_cpp_plugin does not run here: $out"
    fi
  fi

  for tool in cmake ninja c++ nvcc nvidia-smi "$PYTHON"; do
    if command -v "$tool" >/dev/null; then
      case $tool in
        cmake|ninja) v=$("$tool" --version | head -1) ;;
        c++) v=$(c++ --version | head -1) ;;
        nvcc) v=$(nvcc --version | grep -o 'release [0-9.]*') ;;
        nvidia-smi) v=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1) ;;
        "$PYTHON") v=$("$PYTHON" --version 2>&1) ;;
      esac
      say "  $tool: $v"
    else
      case $tool in
        nvcc|nvidia-smi) say "  $tool: not found (only a warning: LibTorch brings its CUDA runtime)" ;;
        *) problem "$tool not found" ;;
      esac
    fi
  done
  cmake_version=$(cmake --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+')
  [ -z "$cmake_version" ] || version_ge "$cmake_version" 3.18 || problem "CMake $cmake_version < 3.18"

  torch_info=$("$PYTHON" - 2>&1 <<'EOF'
import torch
print("version", torch.__version__)
print("cuda", torch.version.cuda)
print("available", torch.cuda.is_available())
print("devices", torch.cuda.device_count())
print("cxx11_abi", torch.compiled_with_cxx11_abi())
print("prefix", torch.utils.cmake_prefix_path)
EOF
)
  torch_field() { echo "$torch_info" | awk -v k="$1" '$1 == k { print $2 }'; }
  if ! echo "$torch_info" | grep -q '^prefix '; then
    problem "no LibTorch: $PYTHON cannot import torch ($(echo "$torch_info" | tail -1)); install a \
CUDA build of PyTorch for it, or set PYTHON to a python that has one"
  else
    torch_version=$(torch_field version) torch_cuda=$(torch_field cuda)
    say "  torch $torch_version, CUDA $torch_cuda, available: $(torch_field available) ($(torch_field devices) devices)"
    echo "$torch_info" | grep -q '^cxx11_abi True' \
      || problem "this torch uses the old C++ ABI (_GLIBCXX_USE_CXX11_ABI=0); Debian's gRPC and protobuf use the new one"
    if [ "$torch_cuda" = None ]; then
      if [ "$ALLOW_CPU_TORCH" = 1 ]; then say "  warning: torch $torch_version is a CPU-only build (ALLOW_CPU_TORCH=1)"
      else problem "no CUDA LibTorch: torch $torch_version in $PYTHON is a CPU-only build (torch.version.cuda \
is None), and its LibTorch is what speech_server links; install a CUDA build of PyTorch (or set \
PYTHON), or set ALLOW_CPU_TORCH=1 to build for CPU anyway"; fi
    fi
    if [ "$(torch_field available)" != True ]; then
      # What the driver says, for the message: no nvidia-smi, no device, or a driver mismatch.
      smi="nvidia-smi not found"
      command -v nvidia-smi >/dev/null && smi="nvidia-smi: $(nvidia-smi -L 2>&1 | head -1)"
      if [ "$ALLOW_NO_GPU" = 1 ]; then
        say "  warning: torch sees no usable GPU ($smi; ALLOW_NO_GPU=1): the GPU repositories and the smoke test are skipped"
      elif [ "$torch_cuda" != None ]; then
        problem "no GPU: torch $torch_version (CUDA $torch_cuda) sees no usable GPU (torch.cuda.is_available() \
is False; $smi); is this the GPU host, with its driver loaded? ALLOW_NO_GPU=1 builds and runs the CPU tests without one"
      fi
    fi
  fi
  [ "$problems" -eq 0 ] || fail "$problems problems with this host (above)"
fi

# ----------------------------------------------------------------------------- build
if stage build; then
  torch_prefix=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) \
    || fail "$PYTHON cannot import torch"
  say "configuring in $BUILD_DIR (deps: $deps; torch: $torch_prefix)"
  # A LibTorch without CUDA is a configure error unless ALLOW_CPU_TORCH=1.
  require_cuda=ON
  [ "$ALLOW_CPU_TORCH" = 1 ] && require_cuda=OFF
  # TORCH_CUDA_ARCH_LIST: Hopper only, so that LibTorch's CMake config does not probe the GPU.
  TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} \
  cmake -S deploy/gpu -B "$BUILD_DIR" -G Ninja \
    -DDEPS_PREFIX="$deps" -DCMAKE_PREFIX_PATH="$torch_prefix" \
    -DSPEECH_PYTHON="$(command -v "$PYTHON")" -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DSPEECH_REQUIRE_CUDA="$require_cuda" ${CMAKE_ARGS:-} \
    >"$LOG_DIR/configure.log" 2>&1 \
    || { tail -40 "$LOG_DIR/configure.log"
         grep -A3 'CMake Error' "$LOG_DIR/configure.log" | grep -q 'no CUDA LibTorch' \
           && fail "no CUDA LibTorch: the LibTorch CMake found is a CPU-only build (configure.log above)"
         fail "cmake configure (log: $LOG_DIR/configure.log)"; }
  grep -E '^-- (speech|Found Torch|Caffe2)' "$LOG_DIR/configure.log" | sed 's/^/[gpu]   /'
  say "building with ninja -j$JOBS (the default tiny model repository included)"
  # Progress on the terminal: one line per finished step ([done/total] what), errors in full.
  NINJA_STATUS="[%f/%t %es] " ninja -C "$BUILD_DIR" -j"$JOBS" 2>&1 | tee "$LOG_DIR/build.log" \
    | grep --line-buffered -vE '^(ninja: Entering|In file included|  +from )' | cut -c1-200
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "build (log: $LOG_DIR/build.log)"
  say "built in $(elapsed): $(find "$BUILD_DIR/runfiles" -type f -perm -u+x | wc -l) executables"
  # Which libraries the server really loads: gRPC & co. from the carried set, LibTorch (CUDA too).
  ldd "$BUILD_DIR/runfiles/server/speech_server" >"$BUILD_DIR/ldd_speech_server.txt" 2>&1
  if grep -q 'not found' "$BUILD_DIR/ldd_speech_server.txt"; then
    grep 'not found' "$BUILD_DIR/ldd_speech_server.txt"; fail "speech_server has unresolved libraries"
  fi
  if grep -q libtorch_cuda "$BUILD_DIR/ldd_speech_server.txt"; then
    say "  speech_server loads libtorch_cuda: ok"
  elif [ "$ALLOW_CPU_TORCH" = 1 ]; then
    say "  warning: speech_server does not load libtorch_cuda (ALLOW_CPU_TORCH=1)"
  else
    fail "no CUDA LibTorch: speech_server does not load libtorch_cuda ($BUILD_DIR/ldd_speech_server.txt)"
  fi
fi

# ----------------------------------------------------------------------------- models
if stage models; then
  export_repo() {  # export_repo NAME ARGS...
    local name=$1; shift
    say "exporting repository/$name ($*)"
    rm -rf "$BUILD_DIR/repository/$name"
    PYTHONUNBUFFERED=1 "$PYTHON" models/export/make_repository.py --out "$BUILD_DIR/repository/$name" "$@" 2>&1 \
      | tee -a "$LOG_DIR/models.log" | sed 's/^/[gpu]   /'
    [ "${PIPESTATUS[0]}" -eq 0 ] || fail "exporting $name (log: $LOG_DIR/models.log)"
  }
  : >"$LOG_DIR/models.log"
  # repository/tiny (CPU instances, what the tests serve) is made by the build (default_repository).
  [ -f "$BUILD_DIR/repository/tiny/.stamp" ] || export_repo tiny --size tiny
  if gpu_ok; then
    export_repo tiny_gpu --size tiny --instance-kind gpu
    if [ "$FULL_MODELS" = 1 ]; then
      export_repo full_fp16 --size full --dtype fp16   # full size: GPU instances by default
    fi
  else
    no_gpu "exporting the GPU repositories (tiny_gpu, full_fp16)"
  fi
fi

# ----------------------------------------------------------------------------- test
if stage test; then
  say "running ctest"
  (cd "$BUILD_DIR" && ctest --output-on-failure --timeout 900 -j"$(( JOBS > 8 ? 8 : JOBS ))" ${CTEST_ARGS:-}) \
    2>&1 | tee "$LOG_DIR/ctest.log" | grep --line-buffered -E '^ *[0-9]+/[0-9]+ Test|tests passed|tests failed|^\s+[0-9]+ - '
  ctest_rc=${PIPESTATUS[0]}
  grep -E 'tests passed|tests failed' "$LOG_DIR/ctest.log" | tail -1 | sed 's/^/[gpu] ctest: /' | tee -a "$summary"
  grep -E '^\s+[0-9]+ - ' "$LOG_DIR/ctest.log" | sed 's/^/[gpu]   failed: /' | tee -a "$summary"
  # Test logs (servers' outputs under TEST_TMPDIR, ctest's own) in one file, for $OUT's file limit.
  tar -czf "$LOG_DIR/test_logs.tar.gz" -C "$BUILD_DIR" Testing/Temporary test_tmp 2>/dev/null || true
fi

# ----------------------------------------------------------------------------- smoke
# The server on the GPU: tiny models with GPU instances, then the full fp16 FastPitch.
if stage smoke && ! gpu_ok; then
  no_gpu "the GPU smoke test"
elif stage smoke; then
  smoke_log="$LOG_DIR/smoke.log"
  : >"$smoke_log"
  serve() {  # serve REPOSITORY: starts the server, sets port and server_pid
    local log="$BUILD_DIR/smoke_server.log"
    "$BUILD_DIR/runfiles/server/speech_server" --model-repository="$1" --grpc-address=127.0.0.1 \
      --grpc-port=0 --http-address=127.0.0.1 --http-port=0 --metrics-address=127.0.0.1 \
      --metrics-port=0 >"$log" 2>&1 &
    server_pid=$!
    port=""
    for _ in $(seq 1 1200); do
      port=$(grep -oE 'Started GRPCInferenceService at [^ ]*:[0-9]+' "$log" | grep -oE '[0-9]+$' | head -1)
      [ -n "$port" ] && break
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    sed 's/^/[server] /' "$log" >>"$smoke_log"
    [ -n "$port" ] || { cat "$log"; kill "$server_pid" 2>/dev/null; fail "speech_server did not start on $1"; }
  }
  client() {
    echo "\$ speech_client $*" >>"$smoke_log"
    "$BUILD_DIR/runfiles/client/cli/speech_client" --url="127.0.0.1:$port" "$@" >>"$smoke_log" 2>&1
  }
  stop() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; }

  if [ -d "$BUILD_DIR/repository/tiny_gpu" ]; then
    say "smoke test: tiny models on the GPU"
    serve "$BUILD_DIR/repository/tiny_gpu"
    ok=1
    client index || ok=0
    client infer identity --length=256 --repeat=20 || ok=0
    client infer simple --int-range=-100,100 --repeat=20 || ok=0
    client infer fastpitch --length=64 --int-range=1,148 --repeat=50 || ok=0
    client infer wav2vec2 --length=16000 --repeat=20 || ok=0
    nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv >>"$smoke_log" 2>&1 || true
    stop
    [ $ok = 1 ] && say "  tiny GPU models answered" || say "  FAILED: a tiny GPU model did not answer (log: $smoke_log)"
  fi
  if [ -d "$BUILD_DIR/repository/full_fp16" ]; then
    say "smoke test: full-size fp16 FastPitch on the GPU"
    serve "$BUILD_DIR/repository/full_fp16"
    if client infer fastpitch --length=128 --int-range=1,148 --repeat=200; then
      say "  $(tail -3 "$smoke_log" | grep -iE 'latency|mean|p99' | head -1)"
    else
      say "  FAILED: full fp16 FastPitch did not answer (log: $smoke_log)"
    fi
    stop
  fi
  grep -nE 'error|FAILED' "$smoke_log" | head -5 | sed 's/^/[gpu]   /'
fi

say "done in $(elapsed); logs in $LOG_DIR"
if stage test && [ "${ctest_rc:-0}" -ne 0 ]; then exit 1; fi
exit 0
