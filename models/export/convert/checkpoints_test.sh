#!/bin/sh
# Runs checkpoints_test.py with Debian's python3-torch, as the exporters run.
# PYTHONHASHSEED=0 as make_repository.py pins it, so that converted files
# are byte-for-byte reproducible. Under Bazel the sources are in runfiles.
set -eu
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
if [ -n "${TEST_SRCDIR:-}" ]; then
  dir="$TEST_SRCDIR/$TEST_WORKSPACE/models/export/convert"
else
  dir="$(dirname "$0")"
fi
exec /usr/bin/python3 "$dir/checkpoints_test.py"
