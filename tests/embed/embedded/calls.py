"""Functions the embedding tests call from C (tests/embed/embed_check.c)."""

import importlib.metadata
import importlib.resources
import os
import sys

calls = 0


def echo(text):
    return text


def concat(a, b):
    """Counts the calls: the interpreter's state lives on between them."""
    global calls
    calls += 1
    return f"{a}{b} (call {calls})"


def size(data):
    assert isinstance(data, bytes), type(data)
    return data[::-1]


def nothing():
    return None


def number():
    return 42


def fail(message):
    raise ValueError(message)


def imports_missing():
    import not_in_the_library  # noqa: F401


def package_data():
    """Package data through importlib.resources and by path under sys.executable."""
    text = importlib.resources.files("embedded").joinpath("data/note.txt").read_text(encoding="utf-8").strip()
    path = os.path.join(os.path.dirname(__file__), "data", "note.txt")
    with open(path, encoding="utf-8") as f:
        by_path = f.read().strip()
    return f"{text}|{by_path}|{__file__.startswith(sys.executable + '/')}"


def metadata():
    return importlib.metadata.version("embedded-demo")


def state():
    """What the interpreter looks like from inside: isolated, argv, extra sys.path."""
    return repr((sys.flags.isolated, sys.argv, sys.path[1:], sys.executable == os.path.realpath("/proc/self/exe")))


def stdlib_tour():
    """Enough of the stdlib that a file read from disk would show under strace."""
    import decimal
    import json
    import sqlite3
    import zlib
    connection = sqlite3.connect(":memory:")
    (value,) = connection.execute("select 6 * 7").fetchone()
    return json.dumps([value, str(decimal.Decimal("1.1") + 1), len(zlib.compress(b"x" * 100))])


def zlib_version():
    """The zlib the library's zlib module runs with, and that it works."""
    import zlib
    return f"{zlib.ZLIB_RUNTIME_VERSION} {zlib.decompress(zlib.compress(b'ok')).decode()}"
