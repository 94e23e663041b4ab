"""Writes the release stamp of a standalone binary as a linkable object (`rps_stamp`).

The stamp is the text the runtime's `_rps_blob.stamp()` returns as a dict: one "KEY value" line
per workspace status key, sorted. Only keys that are the same wherever a release is built go in:
the `STABLE_*` keys of `--workspace_status_command` and `BUILD_EMBED_LABEL` (`--embed_label`);
never Bazel's `BUILD_HOST`, `BUILD_USER` or the volatile `BUILD_TIMESTAMP`, which would make two
builds of one tag differ (docs/releases.md). Without `--status` (no stamping) the stamp is empty.

    stamp.py [--status bazel-out/stable-status.txt] --machine x86_64 --out stamp.o
"""

from __future__ import annotations

import argparse
import sys

from tools.emit import emit

SYMBOL = "rps_stamp"


def stamp_text(status: str) -> bytes:
    """The stamped lines of a workspace status file ("KEY value" lines)."""
    keys = {}
    for line in status.splitlines():
        key, _, value = line.partition(" ")
        if key.startswith("STABLE_") or (key == "BUILD_EMBED_LABEL" and value):
            keys[key] = value
    return "".join(f"{key} {keys[key]}\n" for key in sorted(keys)).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--status", help="Bazel's stable-status.txt (omit: no stamp)")
    parser.add_argument("--machine", required=True, choices=sorted(emit.ELF_MACHINES))
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    text = b""
    if args.status:
        try:
            with open(args.status, encoding="utf-8") as f:
                text = stamp_text(f.read())
        except (OSError, UnicodeDecodeError) as e:
            print(f"stamp: cannot read the workspace status {args.status}: {e}", file=sys.stderr)
            return 1
    with open(args.out, "wb") as f:
        f.write(emit.writer_for(args.machine).write(text, SYMBOL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
