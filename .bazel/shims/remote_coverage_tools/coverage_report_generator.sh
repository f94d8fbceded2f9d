#!/bin/sh
echo "coverage reports are not generated in offline builds" >&2
exit 0
