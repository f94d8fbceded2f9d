#!/usr/bin/env bash
# Runs a command HERE (Debian 12, as root) with this system's copies of what pack_deps.sh carries
# hidden, so that it can only use deploy/gpu/.deps: proof that the carried set is complete.
#
#   bash deploy/gpu/isolated.sh ninja -C /tmp/gpu_build
#   bash deploy/gpu/isolated.sh bash -c 'cd /tmp/gpu_build && ctest'
#
# In a private mount namespace (nothing changes outside the command), every file that the
# packages below installed on this system is covered by /dev/null, and their header folders by
# empty tmpfs. zlib and OpenSSL's runtime libraries stay visible (every host has them; cmake and
# ctest need them) and so do their headers' neighbours. Debian's python3-torch needs the hidden
# libprotobuf, so the model exporter cannot run inside: make the repositories first.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "[isolated] needs root (mount namespaces)" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

HIDDEN_PACKAGES=(
  libgrpc++1.51 libgrpc29 libgrpc++-dev libgrpc-dev protobuf-compiler-grpc
  libprotobuf32 libprotoc32 libprotobuf-dev protobuf-compiler libprotobuf-lite32
  libabsl20220623 libabsl-dev libre2-9 libre2-dev libc-ares2 libc-ares-dev
  libconcurrentqueue-dev nlohmann-json3-dev libcpp-httplib0.11 libcpp-httplib-dev
  libgtest-dev libgmock-dev googletest libbenchmark1debian libbenchmark-dev
  libpng16-16 libpng-dev
)
HIDDEN_INCLUDE_DIRS=(grpc grpcpp grpc++ google/protobuf absl gtest gmock concurrentqueue nlohmann benchmark re2 libpng16)

exec unshare -m --propagation private bash -s -- "$@" <<EOF
set -e
n=0
for package in ${HIDDEN_PACKAGES[*]}; do
  dpkg-query -W -f='\${Status}' "\$package" 2>/dev/null | grep -q "install ok installed" || continue
  while IFS= read -r file; do
    if [ -f "\$file" ] && [ ! -L "\$file" ]; then
      mount --bind /dev/null "\$file" && n=\$((n + 1))
    fi
  done < <(dpkg -L "\$package" | grep -E '^/usr/(lib|bin|include)/')
done
for dir in ${HIDDEN_INCLUDE_DIRS[*]}; do
  [ -d "/usr/include/\$dir" ] && mount -t tmpfs none "/usr/include/\$dir"
done
echo "[isolated] hid \$n files of the system's gRPC, protobuf, Abseil, protoc, httplib, libpng, gtest, benchmark"
exec "\$@"
EOF
