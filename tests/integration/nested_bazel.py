"""What the integration tests that run Bazel in other workspaces share."""

import os
from pathlib import Path

import pytest


def repo_root() -> Path:
    """This module's source tree (the runfile MODULE.bazel is a symlink into it)."""
    module = Path(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"], "MODULE.bazel")
    return module.resolve().parent


def bazel() -> str:
    """The Bazel that runs this test (tools/bazel sets RULES_PY_STANDALONE_BAZEL)."""
    path = os.environ.get("RULES_PY_STANDALONE_BAZEL")
    if not path:
        pytest.fail("RULES_PY_STANDALONE_BAZEL is unset: run the tests through tools/bazel, which sets it")
    return path
