#!/usr/bin/env bash
# Installs what building, testing and running the server needs on Debian 12, all from Debian's
# own packages. Safe to run again: it installs only what is missing.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap g++ git
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libtorch-dev python3-torch python3-numpy libopenblas0-pthread
  libconcurrentqueue-dev libcpp-httplib-dev nlohmann-json3-dev libpng-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus curl haproxy python3-yaml openssl
  espeak-ng sox
  # The fuzz targets (tests/fuzz): clang with libFuzzer and its sanitizer runtimes, and
  # llvm-symbolizer for the file and line in their reports.
  clang-14 libclang-rt-14-dev llvm-14
)
# kubectl renders the Kubernetes manifests in tests/deploy. Debian's is in kubernetes-client; a
# machine that already has another kubectl (which owns the same file) keeps it.
if ! command -v kubectl >/dev/null 2>&1; then PACKAGES+=(kubernetes-client); fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[deps] all ${#PACKAGES[@]} Debian packages are installed"
  exit 0
fi

# apt-get's output as progress through its three phases (downloading, unpacking, setting up),
# counted against the number of packages it said it would install (theirs, with dependencies).
# In a terminal: one line that updates in place. Elsewhere (a log): a line when a phase starts
# and at each quarter of it, so a log holds a dozen lines instead of apt's hundreds. Errors
# (E: ...) always pass through on lines of their own.
progress() {
  awk -v tty="$1" '
    function show(phase, done,   pct, step) {
      pct = total > 0 ? int(100 * done / total) : 0
      if (pct > 100) pct = 100
      if (tty) {
        printf "\r\033[K[deps] %s: %d/%d packages (%d%%)", phase, done, total, pct
        open = 1
      } else {
        step = int(pct / 25)
        if (phase != last_phase) { finish(); last_step = -1; last_phase = phase }
        if (step > last_step) {
          printf "[deps] %s: %d/%d packages (%d%%)\n", phase, done, total, pct
          last_step = step
          printed = done
        }
        last_done = done; last_pct = pct
      }
      fflush()
    }
    function line_break() { if (open) { printf "\n"; open = 0 } }
    # A log ends each phase on its final count (downloads stop short when some were cached).
    function finish() {
      if (last_phase != "" && printed != last_done)
        printf "[deps] %s: %d/%d packages (%d%%)\n", last_phase, last_done, total, last_pct
    }
    /^[0-9]+ upgraded, [0-9]+ newly installed/ {
      total = $1 + $3
      if (match($0, /[0-9]+ reinstalled/)) total += substr($0, RSTART, RLENGTH) + 0
      line_break(); printf "[deps] %d packages to install (%d new, %d upgraded)\n", total, $3, $1
      fflush(); next
    }
    /^Get:[0-9]+ / { show("downloading", ++downloaded); next }
    /^Unpacking /  { show("unpacking", ++unpacked); next }
    /^Setting up / { show("setting up", ++set_up); next }
    /^(E|Err): /   { line_break(); print; fflush(); next }
    END {
      line_break()
      if (!tty) finish()
      if (total > 0) printf "[deps] %d of %d packages set up\n", set_up, total
    }'
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "[deps] missing ${#missing[@]} of our ${#PACKAGES[@]} Debian packages: ${missing[*]}"
echo "[deps] updating the package lists"
$SUDO apt-get update -qq
is_tty=0
if [ -t 1 ]; then is_tty=1; fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1 \
  | progress "$is_tty"
# Prometheus from Debian starts a system service; our tests run their own instance.
$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
echo "[deps] done"
