"""The parallel-launch case: a small command-line tool's imports and a little work, the kind
of program a build or a shell script launches hundreds of times."""

import argparse
import dataclasses
import json
import logging
import pathlib
import subprocess
import typing


@dataclasses.dataclass
class Entry:
    name: str
    size: int
    tags: typing.List[str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="small")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    entry = Entry(args.name, len(pathlib.PurePosixPath("/a/b/c").parts), ["x", "y"])
    json.dumps(dataclasses.asdict(entry))
    assert subprocess.list2cmdline(["a", "b c"]) == 'a "b c"'


main()
