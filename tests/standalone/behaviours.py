"""A program whose first argument picks a behaviour that test_standalone.py checks."""

import atexit
import json
import os
import signal
import sys


def fail_here():
    raise ValueError("boom")


class _SelfReferencing:
    """Kept alive only by a reference cycle once the module drops it: the exit's collections
    would have finalized it; the binary's teardown must still flush its file."""

    def __init__(self, path: str) -> None:
        self.me = self
        self.text = open(path + ".text", "w", encoding="utf-8")
        self.text.write("text in a cycle\n")
        self.raw = open(path + ".bin", "wb")
        self.raw.write(b"bytes in a cycle\n")


class _FinalizedInCycle:
    """Garbage in a reference cycle at exit whose finalizer prints."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        print("finalized")


def teardown(path: str) -> None:
    """Data that only interpreter teardown writes: files left open, threads, atexit handlers."""
    import threading
    import time

    _SelfReferencing(path)
    global _left_open
    _left_open = open(path + ".global", "w", encoding="utf-8")
    _left_open.write("module global\n")

    def late_writer() -> None:
        time.sleep(0.2)
        with open(path + ".thread", "w", encoding="utf-8") as f:
            f.write("non-daemon thread\n")

    threading.Thread(target=late_writer).start()
    atexit.register(lambda: open(path + ".atexit", "w", encoding="utf-8").write("atexit\n"))
    sys.stdout.write("no newline")


def _resident_blob_mapping_kib() -> int:
    """Resident KiB of this executable's largest read-only data mapping: the one that holds the
    packed resources (the others are read-only after relocation, .data.rel.ro)."""
    exe = os.path.realpath(sys.executable)
    mappings: dict[str, list[int]] = {}
    current = None
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            fields = line.split(maxsplit=5)
            if fields and "-" in fields[0] and not fields[0].endswith(":"):
                ours = len(fields) == 6 and fields[1] == "r--p" and fields[5].strip() == exe
                current = fields[0] if ours else None
            elif current and fields[0] in ("Size:", "Rss:"):
                mappings.setdefault(current, []).append(int(fields[1]))
    return max(mappings.values())[1]


def pages_after_import(names: list[str]) -> dict[str, object]:
    """How much more of the executable is resident after importing `names` (and what they
    import), against the size of the bytecode that was imported; and whether reading that
    bytecode again, after its pages were given back, gives the same code."""
    import importlib
    import marshal

    already = set(sys.modules)
    before = _resident_blob_mapping_kib()
    for name in names:
        importlib.import_module(name)
    grown = _resident_blob_mapping_kib() - before
    imported = [name for name in sys.modules if name not in already]
    code_bytes, same = 0, True
    for name in imported:
        loader = getattr(sys.modules[name].__spec__, "loader", None)
        code = loader.get_code(name) if hasattr(loader, "get_code") else None
        if code is not None:
            code_bytes += len(marshal.dumps(code))
            same = same and loader.get_code(name) == code  # code objects compare by value
    return {"grown_kib": grown, "bytecode_kib": code_bytes // 1024, "same_code_read_again": same,
            "modules": len(imported)}


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def peak_after_open() -> dict[str, object]:
    """largedata/large.bin opened by path (the view copies it into a memory file) and read in
    1 MiB pieces: its size and SHA-256, and how far the peak resident set grew meanwhile, from
    the resident set before (the peak reset first: /proc/self/clear_refs)."""
    import hashlib

    import largedata
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")
    before = _status_kib("VmRSS")
    digest, size = hashlib.sha256(), 0
    with open(os.path.join(os.path.dirname(largedata.__file__), "large.bin"), "rb") as f:
        while piece := f.read(1 << 20):
            digest.update(piece)
            size += len(piece)
    return {"size": size, "sha256": digest.hexdigest(), "peak_grown_kib": _status_kib("VmHWM") - before}


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "describe"
    if what == "describe":
        print(json.dumps({
            "argv": sys.argv[1:], "executable": sys.executable, "isolated": sys.flags.isolated,
            "utf8_mode": sys.flags.utf8_mode, "path": sys.path, "file": __file__, "name": __name__,
            "spec": __spec__.name, "json_file": json.__file__, "dont_write_bytecode": sys.dont_write_bytecode,
        }))
    elif what == "exit":
        sys.exit(int(sys.argv[2]))
    elif what == "exit-message":
        sys.exit("fatal: a message")
    elif what == "raise":
        fail_here()
    elif what == "missing":
        import not_packed_module  # noqa: F401
    elif what == "find-spec":
        import importlib.util
        print(importlib.util.find_spec("not_packed_module"))
        try:
            import not_packed_module  # noqa: F401,F811
        except ImportError as e:
            print(type(e).__name__, e.name)
    elif what == "interrupt":
        raise KeyboardInterrupt
    elif what == "stdin":
        sys.stdout.write(sys.stdin.read().upper())
    elif what == "atexit":
        atexit.register(lambda: print(" atexit ran"))
        sys.stdout.write("buffered, no newline")
    elif what == "teardown":
        teardown(sys.argv[2])
    elif what == "import-warning":
        import warnings
        warnings.simplefilter("always")
        import sre_constants  # noqa: F401  (deprecated: warns with stacklevel=2 while imported)
    elif what == "import-error":
        import behaviours_broken  # noqa: F401
    elif what == "finalizer-in-cycle":
        _FinalizedInCycle()
    elif what == "exit-object":
        sys.exit(["not", "an", "int"])
    elif what == "signal":
        os.kill(os.getpid(), signal.SIGTERM)
    elif what == "source":
        import inspect
        print(inspect.getsource(fail_here))
    elif what == "builtins":
        import builtins
        print(hasattr(builtins, "exit"), hasattr(builtins, "quit"))
    elif what == "pages-after-import":
        print(json.dumps(pages_after_import(sys.argv[2:])))
    elif what == "peak-after-open":
        print(json.dumps(peak_after_open()))
    elif what == "env":
        print(os.environ.get("PYTHONPATH"), sys.flags.ignore_environment)
    else:
        sys.exit(f"unknown behaviour {what!r}")


if __name__ == "__main__":
    main()
