#!/usr/bin/env bash
# Runs each fuzz target once over every file of its corpus (a crash fails the test), then checks
# that the committed seeds are what make_seed_corpus writes today, which also checks that each
# seed is still accepted or refused as its name says.
# Usage: corpus_test.sh INFER_REQUEST_FUZZER INFER_REQUEST_JSON_FUZZER MAKE_SEED_CORPUS
set -euo pipefail
proto_fuzzer=$1
json_fuzzer=$2
make_seed_corpus=$3
corpus=tests/fuzz/corpus

"$proto_fuzzer" "$corpus"/infer_request/*
"$json_fuzzer" "$corpus"/infer_request_json/*

generated=$TEST_TMPDIR/corpus
if ! "$make_seed_corpus" "$generated" >"$TEST_TMPDIR/seeds.log" 2>&1; then
  cat "$TEST_TMPDIR/seeds.log"
  exit 1
fi
stale=0
while IFS= read -r seed; do
  if ! cmp -s "$generated/$seed" "$corpus/$seed"; then
    echo "$corpus/$seed differs from what make_seed_corpus writes (or is missing)"
    stale=1
  fi
done < <(cd "$generated" && find . -type f | sort)
if [ "$stale" -ne 0 ]; then
  echo 'regenerate it: bazel run //tests/fuzz:make_seed_corpus -- "$PWD/tests/fuzz/corpus"'
  exit 1
fi
echo "corpus replayed; seeds up to date"
