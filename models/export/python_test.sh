#!/bin/sh
# Runs one of the exporters' Python tests (a path relative to the runfiles root, where Bazel
# starts tests) with Debian's python3-torch, without writing bytecode into the runfiles.
set -eu
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$1"
