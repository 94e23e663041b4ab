"""Writes the golden snapshots of the generated files into the source tree.

    tools/bazel run //tests/golden:update

Arguments (tests/golden/golden.bzl): --package PKG, then per snapshot
`--snapshot NAME FILE...` (the binary's `generated` output group). Each file is normalised
(tests/golden/normalize.py) and written to $BUILD_WORKSPACE_DIRECTORY/PKG/NAME/<file name>.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.golden import normalize


def parse(argv: list[str]) -> tuple[str, dict[str, list[Path]]]:
    package = None
    snapshots: dict[str, list[Path]] = {}
    current = None
    args = iter(argv)
    for arg in args:
        if arg == "--package":
            package = next(args)
        elif arg == "--snapshot":
            current = snapshots.setdefault(next(args), [])
        elif current is None:
            raise SystemExit(f"update: {arg!r} before any --snapshot")
        else:
            current.append(Path(arg))
    if package is None:
        raise SystemExit("update: no --package")
    return package, snapshots


def main(argv: list[str]) -> int:
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if not workspace:
        print("update: BUILD_WORKSPACE_DIRECTORY is not set; run this with `tools/bazel run "
              "//tests/golden:update`, which sets it to the source tree to write to", file=sys.stderr)
        return 2
    package, snapshots = parse(argv)
    for snapshot, files in snapshots.items():
        names = sorted(f.name for f in files)
        if names != sorted(normalize.GENERATED_FILES):
            print(f"update: {snapshot}: the output group has {names}, expected "
                  f"{sorted(normalize.GENERATED_FILES)}", file=sys.stderr)
            return 1
        directory = Path(workspace, package, snapshot)
        directory.mkdir(parents=True, exist_ok=True)
        for f in files:
            text = normalize.normalize(f.read_text(encoding="utf-8"))
            target = directory / f.name
            old = target.read_text(encoding="utf-8") if target.exists() else None
            if old == text:
                continue
            target.write_text(text, encoding="utf-8")
            print(f"{'updated' if old is not None else 'wrote'} {package}/{snapshot}/{f.name}")
    print(f"snapshots of {', '.join(snapshots)} are up to date in {package}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
