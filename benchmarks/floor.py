"""The floor of import time: the same imports served from code objects already in memory.

Run with the distribution's interpreter (the version the binaries embed):

    python3.X -I -S floor.py SCRIPT [--rounds N]

SCRIPT is benchmarks' import_stdlib.py. The parent compiles every module the script's imports
load (found through the normal path finder), then starts fresh child processes that import the
same names through a finder serving (a) code objects unmarshalled before the clock starts
("exec": only module bodies run) and (b) marshalled bytes ("unmarshal + exec"). The children
time their import loop alone; interpreter start-up and teardown are not included (measure them
with `python -I -S -c pass`).
"""

from __future__ import annotations

import argparse
import marshal
import os
import statistics
import subprocess
import sys
import tempfile

_CHILD = r"""
import marshal, sys, time
from _frozen_importlib import ModuleSpec
mode, table_path, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(table_path, "rb") as f:
    table = marshal.load(f)
if mode == "exec":
    table = {k: (p, marshal.loads(c)) for k, (p, c) in table.items()}

class Finder:
    def find_spec(self, name, path=None, target=None):
        entry = table.get(name)
        if entry is None:
            return None
        return ModuleSpec(name, self, is_package=entry[0])
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        is_package, code = table[module.__name__]
        if is_package:
            module.__path__ = []
        exec(code if mode == "exec" else marshal.loads(code), module.__dict__)

sys.meta_path.insert(2, Finder())
start = time.perf_counter()
for name in names:
    __import__(name)
print(time.perf_counter() - start)
"""


def _script_imports(script: str) -> list[str]:
    with open(script, encoding="utf-8") as f:
        return [line.split()[1] for line in f if line.startswith("import ")]


def _table(names: list[str]) -> dict[str, tuple[bool, bytes]]:
    """Code of every module the imports load (compiled from the stdlib on disk)."""
    for name in names:
        __import__(name)
    table = {}
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if not origin or not origin.endswith(".py") or spec.loader is None:
            continue
        code = spec.loader.get_code(name)
        table[name] = (spec.submodule_search_locations is not None, marshal.dumps(code))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("script")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    names = _script_imports(args.script)
    with tempfile.TemporaryDirectory() as tmp:
        table_path = os.path.join(tmp, "table.marshal")
        with open(table_path, "wb") as f:
            marshal.dump(_table(names), f)
        for mode in ("exec", "unmarshal"):
            times = [float(subprocess.run([sys.executable, "-I", "-S", "-c", _CHILD, mode, table_path, *names],
                                          capture_output=True, text=True, check=True).stdout) * 1000
                     for _ in range(args.rounds)]
            label = "exec only" if mode == "exec" else "unmarshal + exec"
            print(f"{label}: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f}) "
                  f"for {len(names)} imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
