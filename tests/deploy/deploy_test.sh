#!/usr/bin/env bash
# Runs deploy_test.py with Debian's python3 (python3-yaml).
exec /usr/bin/python3 "$(dirname "$0")/deploy_test.py" "$@"
