"""tools/compile/stable_marshal.py: canonical marshal bytes, independent of object identity and
reference counts."""

from __future__ import annotations

import marshal
import os
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
        assert marshal.dumps(marshal.loads(stable), 2) == marshal.dumps(code, 2), code.co_filename
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
    assert marshal.dumps(marshal.loads(stable).co_consts[0], 2) == marshal.dumps(value, 2)
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
