"""Entry point of pytest_test targets: runs pytest on the files given as arguments."""

import os
import sys


def _drop_host_site_packages() -> None:
    # Tests import only what Bazel put in their runfiles (pinned wheels), never packages that
    # happen to be installed into the host interpreter.
    runfiles = os.environ.get("RUNFILES_DIR") or os.environ.get("TEST_SRCDIR") or ""
    sys.path[:] = [
        p for p in sys.path
        if not (("site-packages" in p or "dist-packages" in p) and not (runfiles and p.startswith(runfiles)))
    ]


if __name__ == "__main__":
    _drop_host_site_packages()
    import pytest

    # No cache directory in the read-only runfiles tree; skip reasons in the log; XML report where Bazel wants it.
    args = ["-p", "no:cacheprovider", "-q", "-rs", *sys.argv[1:]]
    if os.environ.get("XML_OUTPUT_FILE"):
        args.append("--junitxml=" + os.environ["XML_OUTPUT_FILE"])
    sys.exit(pytest.main(args))
