#!/usr/bin/env bash
# Runs CPython test modules inside a standalone binary: run_inside.sh BINARY MODULE...
set -euo pipefail
binary=$1
shift
cd "${TEST_TMPDIR:-$(mktemp -d)}"
"$OLDPWD/$binary" "$@"
