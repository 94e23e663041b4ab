#!/usr/bin/env bash
# Runs CPython's own regression tests against the interpreter of a distribution we built.
#   regrtest.sh PYTHON_JSON TEST...
set -euo pipefail
python_json=$1
shift
root=$(dirname "$python_json")
exe=$root/$(sed -n 's/^ *"python_exe": "\(.*\)",$/\1/p' "$python_json")
[[ -x "$exe" ]] || { echo "regrtest.sh: no interpreter at $exe (from $python_json)" >&2; exit 1; }

ignores=(
  # This machine has no VSOCK device (connect: ENODEV; accept times out).
  -i 'test.test_socket.ThreadedVSOCKSocketStreamTest.*'
  -i 'test.test_socket.BasicVSOCKTest.*'
  # Runs the interpreter with a bare argv[0] that is not on PATH: CPython's getpath then falls
  # back to the configure prefix (/install), as every relocated CPython does (the same holds for
  # python-build-standalone). Standalone binaries set their paths explicitly.
  -i 'test.test_subprocess.*.test_executable_without_cwd'
  # ctypes.util.find_library() falls back to running gcc or ld; a bare Debian has neither.
  -i 'test.test_ctypes.test_find.FindLibraryLinux.test_find_library_with_gcc'
  -i 'test.test_ctypes.test_find.FindLibraryLinux.test_find_library_with_ld'
  # Imports _testcapi in a child interpreter without the usual skip when it is missing (new in
  # 3.13.x); the C test modules are not built (_TEST_MODULES in toolchains/private/cpython_build.bzl).
  -i 'test.test_threading.ThreadTests.test_finalize_daemon_thread_hang'
)
if [[ ! -e /etc/services ]]; then
  # No /etc/services (Debian's netbase package; minimal installs lack it): service names such as
  # "http" do not resolve on this machine.
  ignores+=(
    -i 'test.test_socket.GeneralModuleTests.testGetServBy'
    -i 'test.test_socket.GeneralModuleTests.testGetaddrinfo'
    -i 'test.test_asyncio.test_base_events.*.test_create_connection_service_name'
  )
fi
# -u all minus the resources this sandboxed, offline machine cannot offer. --rerun: a test that
# fails runs once more alone, as in CPython's CI (test_socket picks a free port and binds it
# later: another process on the machine can take it in between).
exec "$exe" -m test -j2 --rerun --timeout=900 -u all,-network,-urlfetch,-gui,-audio,-largefile,-cpu "${ignores[@]}" "$@"
