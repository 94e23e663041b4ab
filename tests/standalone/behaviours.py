"""A program whose first argument picks a behaviour that test_standalone.py checks."""

import atexit
import json
import os
import signal
import sys


def fail_here():
    raise ValueError("boom")


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
    elif what == "signal":
        os.kill(os.getpid(), signal.SIGTERM)
    elif what == "source":
        import inspect
        print(inspect.getsource(fail_here))
    elif what == "env":
        print(os.environ.get("PYTHONPATH"), sys.flags.ignore_environment)
    else:
        sys.exit(f"unknown behaviour {what!r}")


if __name__ == "__main__":
    main()
