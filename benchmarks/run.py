"""Start-up benchmark: standalone binaries against the same CPython with its stdlib on disk.

    tools/bazel run //benchmarks -- [--rounds 30] [--markdown]

For each case (hello, import_stdlib) the commands run interleaved, round after round, so drift
of the machine hits all of them alike. Reported per command: wall time (median, min, max), CPU
time (user+sys, median), peak RSS (one run under GNU time, when /usr/bin/time exists) and the
executable's file size. Commands:
  binary     the py_standalone_binary
  python -I  the distribution's python3.X running the same script, stdlib on disk (hot cache)
  python -IS the same with -S
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def _measure(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, cpu seconds, peak RSS KiB) of one run, output discarded."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, {"LC_ALL": "C.UTF-8"}, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed ({os.waitstatus_to_exitcode(status)}): {' '.join(argv)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _peak_rss_kib(argv: list[str]) -> float | None:
    """Peak RSS of one run, from GNU time (it forks from a small process: a fork or vfork from
    this interpreter would count this interpreter's memory too). None without /usr/bin/time."""
    if not os.path.exists("/usr/bin/time"):
        return None
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, env={"LC_ALL": "C.UTF-8"})
    return float(done.stderr.strip().splitlines()[-1])


def run_case(commands: dict[str, list[str]], rounds: int) -> dict[str, dict[str, float]]:
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for argv in commands.values():  # warm the page cache once
        _measure(argv)
    for _ in range(rounds):
        for name, argv in commands.items():
            samples[name].append(_measure(argv))
    results = {}
    for name, runs in samples.items():
        walls = [r[0] * 1000 for r in runs]
        results[name] = {
            "wall_median_ms": statistics.median(walls), "wall_min_ms": min(walls), "wall_max_ms": max(walls),
            "cpu_median_ms": statistics.median(r[1] * 1000 for r in runs),
            "max_rss_mib": (_peak_rss_kib(commands[name]) or float("nan")) / 1024,
            "size_mib": os.path.getsize(commands[name][0]) / 2**20,
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", required=True, help="the distribution's interpreter")
    parser.add_argument("--case", nargs=3, action="append", metavar=("NAME", "BINARY", "SCRIPT"), required=True)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    python = os.path.abspath(args.python)
    print(f"| case | command | wall median ms | wall min-max ms | CPU median ms | peak RSS MiB | file MiB |")
    print("|---|---|---|---|---|---|---|")
    for name, binary, script in args.case:
        commands = {
            "binary": [os.path.abspath(binary)],
            "python -I": [python, "-I", os.path.abspath(script)],
            "python -I -S": [python, "-I", "-S", os.path.abspath(script)],
        }
        results = run_case(commands, args.rounds)
        base = results["python -I"]["wall_median_ms"]
        for command, r in results.items():
            print(f"| {name} | {command} | {r['wall_median_ms']:.1f} ({r['wall_median_ms'] / base:.2f} x) | "
                  f"{r['wall_min_ms']:.1f}-{r['wall_max_ms']:.1f} | {r['cpu_median_ms']:.1f} | "
                  f"{r['max_rss_mib']:.1f} | {r['size_mib']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
