#!/usr/bin/env bash
# Installs what building, testing and running the server needs on Debian 12, all from Debian's
# own packages. Safe to run again: it installs only what is missing.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap g++ git
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libtorch-dev python3-torch python3-numpy libopenblas0-pthread
  libconcurrentqueue-dev libcpp-httplib-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus curl
  espeak-ng sox
)

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

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "[deps] installing ${#missing[@]} Debian packages: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1 \
  | awk '/^(Setting up|Unpacking) / { n++; printf "\r[deps] %d package steps done", n; fflush() }
         /^E: / { print; fflush() } END { print "" }'
# Prometheus from Debian starts a system service; our tests run their own instance.
$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
echo "[deps] done"
