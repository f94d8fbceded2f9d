#!/usr/bin/env bash
# Packs what the GPU host lacks (gRPC, protobuf, Abseil, protoc + grpc_cpp_plugin, concurrentqueue,
# cpp-httplib, libpng, GoogleTest, Google Benchmark, and the shared libraries these need) into
# deploy/gpu/.deps/, from Debian 12's own packages: `apt-get download` + `dpkg -x`, no root needed.
# Run it HERE (Debian 12, with network to the Debian mirror); the GPU host has neither.
#
#   bash deploy/gpu/pack_deps.sh           # downloads, unpacks, trims, prints the size
#
# The result, deploy/gpu/.deps/ and the same packed as deploy/gpu/.deps.tar.gz (both gitignored),
# travels to the GPU host beside the source tree (the device tool: carry=["deploy/gpu/.deps.tar.gz"]
# or carry=["deploy/gpu/.deps"]); deploy/gpu/build.sh finds either there.
# Layout: .deps/usr/{bin,include,lib/x86_64-linux-gnu}, plus .deps/MANIFEST (packages, versions,
# and the newest glibc / libstdc++ symbol versions the carried binaries need).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
deps="$here/.deps"
debs=${DEBS_DIR:-/tmp/speech_gpu_debs}   # the .deb files themselves do not travel
limit_mib=40                             # leave room under the 64 MiB carry limit for the sources

# Runtime shared libraries (what our binaries and the carried tools load), headers + link-time
# .so symlinks, and the code generators. glibc, libstdc++ and libgcc come from the host.
PACKAGES=(
  # gRPC 1.51 and what libgrpc.so.29 links (ldd): c-ares, re2, OpenSSL 3, zlib, Abseil
  libgrpc++1.51 libgrpc29 libgrpc++-dev libgrpc-dev
  libc-ares2 libre2-9 libssl3 zlib1g
  # protobuf 3.21 (libprotoc is for protoc and grpc_cpp_plugin)
  libprotobuf32 libprotoc32 libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # Abseil 20220623
  libabsl20220623 libabsl-dev
  # header-only: the lock-free queue and the JSON library (REST, perf_analyzer's input data)
  libconcurrentqueue-dev nlohmann-json3-dev
  # cpp-httplib (compiled in Debian, built with OpenSSL, zlib and brotli: their headers too)
  libcpp-httplib0.11 libcpp-httplib-dev libbrotli1 libbrotli-dev libssl-dev zlib1g-dev
  # libpng 1.6 (speech_client's mel spectrogram pictures; it links zlib, carried above)
  libpng16-16 libpng-dev
  # tests and benchmarks (gtest/gmock are static libraries in Debian)
  libgtest-dev libgmock-dev libbenchmark1debian libbenchmark-dev
)

step() { echo "[pack] $*"; }

command -v apt-get >/dev/null && command -v dpkg >/dev/null || {
  echo "[pack] needs apt-get and dpkg: run this on Debian 12 (the build machine), not on the GPU host" >&2
  exit 1
}
if [ -r /etc/debian_version ]; then
  case "$(cat /etc/debian_version)" in
    12*|bookworm*) ;;
    *) echo "[pack] warning: this is Debian $(cat /etc/debian_version), not 12; versions will differ from the Bazel build" >&2 ;;
  esac
fi

# ------------------------------------------------------------------------------------ download
mkdir -p "$debs"
step "downloading ${#PACKAGES[@]} Debian packages into $debs"
i=0
for package in "${PACKAGES[@]}"; do
  i=$((i + 1))
  version=$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "[pack] no candidate version for $package (apt-get update?)" >&2
    exit 1
  fi
  # apt-get download names files <name>_<version with ':' as %3a>_<arch>.deb
  if ls "$debs/${package}_"*.deb >/dev/null 2>&1 && \
     ls "$debs/${package}_${version//:/%3a}_"*.deb >/dev/null 2>&1; then
    printf '[pack] %2d/%d %-26s %s (already downloaded)\n' "$i" "${#PACKAGES[@]}" "$package" "$version"
    continue
  fi
  rm -f "$debs/${package}_"*.deb
  printf '[pack] %2d/%d %-26s %s\n' "$i" "${#PACKAGES[@]}" "$package" "$version"
  (cd "$debs" && apt-get download -q "$package=$version" 2>&1 | grep -E '^(E|Err):' >&2) || true
  ls "$debs/${package}_"*.deb >/dev/null 2>&1 || { echo "[pack] download of $package failed" >&2; exit 1; }
done

# ------------------------------------------------------------------------------------ unpack
step "unpacking into $deps"
rm -rf "$deps"
mkdir -p "$deps"
: >"$deps/MANIFEST.packages"
for package in "${PACKAGES[@]}"; do
  deb=$(ls "$debs/${package}_"*.deb | head -1)
  dpkg -x "$deb" "$deps"
  dpkg-deb -f "$deb" Package Version | paste -sd' ' >>"$deps/MANIFEST.packages"
done

# Merge /lib into /usr/lib (zlib1g still ships /lib/x86_64-linux-gnu), then make every symbolic
# link relative, so that the folder can move (it is unpacked here, used there).
if [ -d "$deps/lib" ]; then
  cp -a "$deps/lib/." "$deps/usr/lib/"
  rm -rf "${deps:?}/lib"
fi
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  case "$target" in
    /*)
      target=${target#/}
      target=${target#usr/}           # /lib/x -> usr/lib/x after the merge above
      [ -e "$deps/usr/$target" ] || { echo "[pack] dangling link $link -> /$target" >&2; continue; }
      rel=$(realpath -s --relative-to="$(dirname "$link")" "$deps/usr/$target")
      ln -sfn "$rel" "$link"
      ;;
  esac
done < <(find "$deps" -type l -print0)

# ------------------------------------------------------------------------------------ trim
step "trimming docs, static libraries and unrelated tools"
before=$(du -sk "$deps" | cut -f1)
rm -rf "${deps:?}/usr/share" "${deps:?}/usr/src" "${deps:?}/etc"
# Static libraries: the shared ones suffice, except GoogleTest/GoogleMock (Debian ships only .a)
# and benchmark_main (2 KB)
find "$deps/usr/lib" -name '*.a' ! -name 'libgtest*.a' ! -name 'libgmock*.a' ! -name 'libbenchmark_main.a' -delete
# libpng's libpng-config scripts are unused (CMake finds the library itself) and are no ELF files
rm -f "$deps"/usr/bin/libpng*-config
# gRPC's other language plugins and the unsecure variant are unused
rm -f "$deps"/usr/bin/grpc_{php,python,ruby,csharp,node,objective_c}_plugin
rm -f "$deps"/usr/lib/x86_64-linux-gnu/libgrpc{,++}_unsecure.so*
# OpenSSL's engines and providers are loaded only on request (not by gRPC's TLS-less channels)
rm -rf "$deps"/usr/lib/x86_64-linux-gnu/engines-3 "$deps"/usr/lib/x86_64-linux-gnu/ossl-modules
# Remove links left dangling by the trim
find "$deps" -xtype l -delete
# Strip debugging symbols where any are left (Debian already strips; this is cheap insurance)
if command -v strip >/dev/null; then
  find "$deps/usr/lib" "$deps/usr/bin" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
    | xargs -0 -r strip --strip-unneeded 2>/dev/null || true
fi
after=$(du -sk "$deps" | cut -f1)
step "trimmed $((before / 1024)) MiB -> $((after / 1024)) MiB"

# ------------------------------------------------------------------------------------ manifest
# What the carried binaries ask of the host's C and C++ runtimes: build.sh compares this with
# the host before it starts, so a too-old host is reported plainly instead of failing obscurely.
glibc=$(find "$deps/usr/lib" "$deps/usr/bin" -type f \( -name '*.so.*' -o -perm -u+x \) -print0 \
  | xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
glibcxx=$(find "$deps/usr/lib" "$deps/usr/bin" -type f \( -name '*.so.*' -o -perm -u+x \) -print0 \
  | xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)
{
  echo "# deploy/gpu/.deps, made by deploy/gpu/pack_deps.sh on $(date -u +%Y-%m-%d) from Debian $(cat /etc/debian_version 2>/dev/null)"
  echo "requires_glibc=${glibc#GLIBC_}"
  echo "requires_glibcxx=${glibcxx#GLIBCXX_}"
  echo "protoc=$("$deps/usr/bin/protoc" --version 2>/dev/null || echo unknown)"
  echo "packages:"
  sed 's/^/  /' "$deps/MANIFEST.packages"
} >"$deps/MANIFEST"
rm -f "$deps/MANIFEST.packages"

# ------------------------------------------------------------------------------------ check
step "checking the carried tools run from the carried libraries alone"
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu"
"$deps/usr/bin/protoc" --version
missing=$( { ldd "$deps/usr/bin/protoc"; ldd "$deps/usr/bin/grpc_cpp_plugin";
             for lib in "$deps"/usr/lib/x86_64-linux-gnu/lib*.so.*; do ldd "$lib"; done; } 2>/dev/null \
           | grep -E 'not found' | sort -u || true)
if [ -n "$missing" ]; then
  echo "[pack] libraries the carried set lacks:" >&2
  echo "$missing" >&2
  exit 1
fi
outside=$( { ldd "$deps/usr/bin/grpc_cpp_plugin";
             for lib in "$deps"/usr/lib/x86_64-linux-gnu/lib*.so.*; do ldd "$lib"; done; } 2>/dev/null \
           | awk '$2 == "=>" { print $1, $3 }' | grep -v "$deps" \
           | grep -vE '^(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^ ]*)\.so' | sort -u || true)
if [ -n "$outside" ]; then
  echo "[pack] warning: these come from this system, not the carried set (the host must have them):"
  echo "$outside" | sed 's/^/  /'
fi

# The same as one compressed file (a third of the size): carry either.
step "compressing into $here/.deps.tar.gz"
tar -czf "$here/.deps.tar.gz" -C "$deps" .
size=$(du -sm --apparent-size "$deps" | cut -f1)
tgz=$(du -sm --apparent-size "$here/.deps.tar.gz" | cut -f1)
repo_kib=$(cd "$here/../.." && git ls-files -co --exclude-standard -z \
           | du -ck --apparent-size --files0-from=- 2>/dev/null | tail -1 | cut -f1)
step "done: $deps is ${size} MiB ($(find "$deps" -type f | wc -l) files), $here/.deps.tar.gz ${tgz} MiB;"
step "      the source tree is $(( (repo_kib + 1023) / 1024 )) MiB: carried together about $((size + (repo_kib + 1023) / 1024)) MiB"
step "      (folder) or $((tgz + (repo_kib + 1023) / 1024)) MiB (.tar.gz) of the 64 MiB a device call may carry"
sed -n '2,4p' "$deps/MANIFEST" | sed 's/^/[pack]   /'
if [ "$size" -gt "$limit_mib" ]; then
  echo "[pack] too big: over ${limit_mib} MiB; trim more" >&2
  exit 1
fi
