#!/usr/bin/env bash
# Runs CPython test modules inside a standalone binary: run_inside.sh BINARY MODULE...
set -euo pipefail
binary=$1
shift
cd "${TEST_TMPDIR:-$(mktemp -d)}"
# -m: with python_command_line = True a first argument that is not an option is a script.
"$OLDPWD/$binary" -m cpython_tests_inside "$@"
