"""Entry point of pytest_test targets: runs pytest on the files given as arguments."""

import os
import sys

import pytest

if __name__ == "__main__":
    # No cache directory in the read-only runfiles tree; XML report where Bazel wants it.
    args = ["-p", "no:cacheprovider", "-q", *sys.argv[1:]]
    if os.environ.get("XML_OUTPUT_FILE"):
        args.append("--junitxml=" + os.environ["XML_OUTPUT_FILE"])
    sys.exit(pytest.main(args))
