"""A binary's generated files (its `generated` output group), normalised, against the snapshots.

Environment (tests/golden/golden.bzl): GOLDEN_BINARY (the binary's label), GOLDEN_GENERATED
(the output group's files), GOLDEN_SNAPSHOTS (the checked-in snapshots), GOLDEN_UPDATE_COMMAND.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.golden import normalize

BINARY = os.environ["GOLDEN_BINARY"]
UPDATE = os.environ["GOLDEN_UPDATE_COMMAND"]


def _by_name(variable: str) -> dict[str, Path]:
    paths = [Path(p) for p in os.environ[variable].split()]
    return {p.name: p for p in paths}


GENERATED = _by_name("GOLDEN_GENERATED")
SNAPSHOTS = _by_name("GOLDEN_SNAPSHOTS")


def test_output_group_has_the_generated_files():
    assert sorted(GENERATED) == sorted(normalize.GENERATED_FILES), (
        f"{BINARY}'s `generated` output group has {sorted(GENERATED)}, "
        f"expected {sorted(normalize.GENERATED_FILES)}")


@pytest.mark.parametrize("name", normalize.GENERATED_FILES)
def test_matches_snapshot(name):
    actual = normalize.normalize(GENERATED[name].read_text(encoding="utf-8"))
    expected = SNAPSHOTS[name].read_text(encoding="utf-8")
    if actual == expected:
        return
    diff = "".join(difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile=f"{SNAPSHOTS[name]} (snapshot)", tofile=f"{BINARY}: {name} (generated, normalised)"))
    pytest.fail(f"{BINARY}: {name} differs from its snapshot {SNAPSHOTS[name]}:\n\n{diff}\n"
                f"If the change is intended, update the snapshots and commit them:\n    {UPDATE}\n",
                pytrace=False)


@pytest.mark.parametrize("name", normalize.GENERATED_FILES)
def test_no_machine_paths(name):
    # An absolute path in a generated file would make the build depend on the machine.
    found = normalize.machine_paths(normalize.normalize(GENERATED[name].read_text(encoding="utf-8")))
    assert not found, f"{BINARY}: {name} names absolute paths: {found}"
