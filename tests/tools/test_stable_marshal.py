"""tools/compile/stable_marshal.py: canonical marshal bytes, independent of object identity and
reference counts."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import warnings

import pytest

from tools.compile import stable_marshal


def _stdlib_codes(limit: int = 150) -> list:
    root = os.path.dirname(os.__file__)
    codes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in sorted(os.listdir(root)):
            if name.endswith(".py") and len(codes) < limit:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    codes.append(compile(f.read(), path, "exec", dont_inherit=True))
    return codes


def test_stdlib_modules_load_back_equal_and_do_not_grow() -> None:
    for code in _stdlib_codes():
        plain = marshal.dumps(code)
        stable = stable_marshal.dumps(code)
        assert stable_marshal.plain(marshal.loads(stable)) == stable_marshal.plain(code), code.co_filename
        assert len(stable) <= len(plain), code.co_filename
        # Reloaded, the same value has other reference counts, so marshal flags other objects.
        assert stable_marshal.canonical(marshal.dumps(marshal.loads(plain))) == stable, code.co_filename


def test_equal_constants_give_equal_bytes_whether_or_not_they_are_one_object() -> None:
    code = compile("a = ('x y', 2.5, b'z')\ndef f():\n    return ('x y', 2.5, b'z')\n", "<m>", "exec")
    shared = code.co_consts[0]
    function = next(c for c in code.co_consts if hasattr(c, "co_code"))
    assert function.co_consts[-1] is shared  # the compiler merged them
    copy = tuple(marshal.loads(marshal.dumps(shared)))
    assert copy == shared and copy is not shared
    consts = list(function.co_consts)
    consts[consts.index(shared)] = copy
    unshared = code.replace(co_consts=tuple(function.replace(co_consts=tuple(consts)) if c is function else c
                                            for c in code.co_consts))
    assert marshal.dumps(unshared) != marshal.dumps(code)  # what made builds differ
    assert stable_marshal.dumps(unshared) == stable_marshal.dumps(code)


def _interned(text: str) -> bool:
    return marshal.dumps(text)[0] & 0x7F in b"tAZ"


def test_an_equal_string_interned_elsewhere_does_not_change_the_bytes() -> None:
    # CPython 3.12+ interns co_qualname when it makes a code object; a class body's __qualname__
    # constant, the same object at first, stays not interned when an equal string was interned
    # earlier in the process (what made two builds of a 3.13 test module differ).
    name = sys.intern("".join(["f.<locals>", ".T"]))
    copy = "".join(["f.<locals>", ".T"])
    assert _interned(name) and not _interned(copy)
    base = compile("x = 1\n", "<m>", "exec")
    one = base.replace(co_qualname=name, co_consts=(name, None))
    two = base.replace(co_qualname=name, co_consts=(copy, None))
    assert marshal.dumps(one) != marshal.dumps(two)
    assert stable_marshal.dumps(one) == stable_marshal.dumps(two)
    assert stable_marshal.plain(one) == stable_marshal.plain(two)
    assert _interned(marshal.loads(stable_marshal.dumps(two)).co_consts[0])


def test_strings_keep_their_value_and_interning() -> None:
    values = ("a", "é" * 300, "x y" * 100, sys.intern("x y" * 101), b"bytes", "".join(["not", " interned"]))
    for value in values:
        again = marshal.loads(stable_marshal.canonical(marshal.dumps(value)))
        assert again == value and type(again) is type(value)
        if isinstance(value, str):
            assert _interned(again) == _interned(value), value


def test_an_extra_reference_does_not_change_the_bytes() -> None:
    code = compile("x = 'only once here'\n", "<m>", "exec")
    before = stable_marshal.dumps(code)
    extra = [c for c in code.co_consts]  # noqa: F841 (raises the constants' reference counts)
    assert stable_marshal.dumps(code) == before


def test_deeply_nested_constants() -> None:
    value: tuple = ()
    for _ in range(1500):
        value = (value, "level")
    code = compile("x = 1\n", "<m>", "exec").replace(co_consts=(value, None))
    limit = sys.getrecursionlimit()
    stable = stable_marshal.dumps(code)
    assert stable_marshal.plain(marshal.loads(stable).co_consts[0]) == stable_marshal.plain(value)
    assert sys.getrecursionlimit() == limit  # restored


@pytest.mark.parametrize("data, message", [
    (marshal.dumps(compile("x = 'abc'\n", "<m>", "exec"))[:-3], "truncated at offset"),
    (b"\x01", "unknown type '\\x01' at offset 0"),
    (b"r\x05\x00\x00\x00", "bad back-reference 5 at offset 0"),
    (marshal.dumps(None) + b"N", "1 bytes after the object"),
])
def test_damaged_input_is_named(data: bytes, message: str) -> None:
    with pytest.raises(stable_marshal.MarshalFormatError, match=message.replace("\\", "\\\\").replace("(", "\\(")):
        stable_marshal.canonical(data)


def test_the_distributions_bundles_do_not_depend_on_what_a_process_compiled_before(tmp_path) -> None:
    # CPython 3.12+ interns co_qualname (the host's 3.11 does not), so this runs compile.py on
    # the 3.13 distribution: one process for all modules vs worker processes.
    distribution = os.environ.get("DISTRIBUTION")
    if not distribution:
        pytest.skip("DISTRIBUTION (a CPython 3.12+ distribution) is set by the Bazel target only")
    python = os.path.join(os.path.abspath(distribution), "install", "bin", "python3")
    # The repository root, where `-m tools.compile.compile` is found (as the rules run it).
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(stable_marshal.__file__))))
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(100):
        (lib / f"m{i:03}.py").write_text("def g():\n    class T:\n        pass\n    return T\n")
    bundles = []
    for jobs in ("1", "3"):
        out = tmp_path / f"jobs{jobs}.bundle"
        subprocess.run([python, "-m", "tools.compile.compile", "--stdlib", str(lib), "--out", str(out), "--jobs", jobs],
                       check=True, env={"PYTHONHASHSEED": jobs, "PYTHONPATH": root, "PYTHONSAFEPATH": "1"})
        bundles.append(out.read_bytes())
    assert bundles[0] == bundles[1]
