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
    elif what == "env":
        print(os.environ.get("PYTHONPATH"), sys.flags.ignore_environment)
    else:
        sys.exit(f"unknown behaviour {what!r}")


if __name__ == "__main__":
    main()
