"""The tests' data files by runfiles path, found with bazel-runfiles: a target puts
`$(rlocationpath LABEL)` (or `$(rlocationpaths LABEL)`) in an environment variable, and the
test finds the files wherever it runs (`bazel test` or `bazel run`, a runfiles tree or only
its manifest) without building paths from TEST_SRCDIR or searching the runfiles."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from runfiles import runfiles as bazel_runfiles


@functools.cache
def _runfiles() -> bazel_runfiles.Runfiles:
    found = bazel_runfiles.Create()
    if found is None:
        raise RuntimeError("no runfiles: RUNFILES_DIR and RUNFILES_MANIFEST_FILE are unset (run the test with Bazel)")
    return found


def paths(variable: str) -> list[Path]:
    """The runfiles whose runfiles paths (space-separated) the environment variable holds."""
    found = []
    for rlocation in os.environ[variable].split():
        # The paths Bazel expands name canonical repositories: no repository mapping applies.
        path = _runfiles().Rlocation(rlocation, source_repo="")
        if path is None:
            raise FileNotFoundError(f"{variable}: {rlocation} is not among the runfiles")
        found.append(Path(path))
    return found


def path(variable: str) -> Path:
    """The runfile whose runfiles path the environment variable holds."""
    found = paths(variable)
    if len(found) != 1:
        raise ValueError(f"{variable} names {len(found)} runfiles, not one: {os.environ[variable]!r}")
    return found[0]
