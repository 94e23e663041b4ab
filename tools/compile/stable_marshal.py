"""marshal.dumps of a code object whose bytes depend only on the code's value.

`marshal.dumps` (format 3 and later) writes an object once and back-references (TYPE_REF) for
its later occurrences, but only for objects that are the same object and whose reference count
was above one while it wrote them (CPython issue 78274). Both depend on the writing process's
history, so the same source compiled in two processes can marshal to different bytes (seen
here: one stdlib module 15 bytes longer in one of two builds). This module re-encodes marshal's
output canonically:

- every immutable value (str, bytes, int, float, complex, tuple, frozenset, slice, of such
  values only) that occurs more than once is written once, flagged, and referenced after that,
  whether or not the occurrences were one object: values equal in type and encoding are
  interchangeable in a code object's constants (the compiler merges them too);
- nothing else is flagged: code objects and mutable containers are kept as the input shares
  them (the compiler never shares them);
- singletons (None, True, False, Ellipsis, StopIteration) are never flagged;
- a string is written as interned (types t, A, Z) wherever it occurs if it is interned at any of
  its occurrences. Whether one occurrence is interned depends on history too: CPython interns a
  code object's co_qualname when it creates the code, which makes the class body's `__qualname__`
  constant interned only while the two are one object, that is, unless an equal string was
  already interned in the process (seen: one test module 44 bytes longer in one of two builds).
  Which values CPython interns somewhere (names, co_name, co_qualname, co_filename, identifier-
  like constants) does not depend on history, so neither does this choice.

The result loads to the same value (checked for every module: marshal's format 2, which writes
no back-references, of the loaded result equals that of the code, interning aside), is
never longer than marshal's output and is the same for equal inputs whatever their history.
Format: CPython's Python/marshal.c.
"""

from __future__ import annotations

import marshal
import struct
import sys

_FLAG_REF = 0x80
_MAX_MARSHAL_DEPTH = 2000  # MAX_MARSHAL_STACK_DEPTH in Python/marshal.c
_NO_PAYLOAD = frozenset(b"0NFTS.")
_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")
# Strings and bytes: an int32 length, or (short forms) one byte of length.
_SIZED32 = frozenset(b"stuaA")
_SIZED8 = frozenset(b"zZ")
_CONTAINERS32 = frozenset(b"([<>")
_IMMUTABLE = frozenset(b"ilIgfxy" b"stuaAzZ" b"()>:")
# A string's type without and with the interned mark (the same payload).
_INTERNED_FORM = {ord("u"): ord("t"), ord("a"): ord("A"), ord("z"): ord("Z")}
_PLAIN_FORM = {v: k for k, v in _INTERNED_FORM.items()}
_INTERNING_IGNORED = bytes.maketrans(b"t", b"u")


class MarshalFormatError(Exception):
    pass


class _Node:
    __slots__ = ("kind", "payload", "children", "key", "mergeable")

    def __init__(self, kind: int, payload: bytes, children: list) -> None:
        self.kind = kind
        self.payload = payload  # the bytes after the type byte that are not child objects
        self.children = children  # child nodes, or ints for a code object's int32 fields
        self.key = 0
        self.mergeable = False


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0
        self.refs: list[_Node | None] = []

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise MarshalFormatError(f"truncated at offset {self.at} (needs {n} bytes)")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def read(self) -> _Node:
        start = self.at
        code = self.take(1)[0]
        kind, flagged = code & ~_FLAG_REF, bool(code & _FLAG_REF)
        if kind == ord("r"):
            index = _UINT32.unpack(self.take(4))[0]
            if index >= len(self.refs) or self.refs[index] is None:
                raise MarshalFormatError(f"bad back-reference {index} at offset {start}")
            return self.refs[index]
        slot = None
        if flagged:
            slot = len(self.refs)
            self.refs.append(None)  # reserved before the children, as marshal's reader does
        node = self._read_body(kind, start)
        if slot is not None:
            self.refs[slot] = node
        return node

    def _read_body(self, kind: int, start: int) -> _Node:
        if kind in _NO_PAYLOAD:
            return _Node(kind, b"", [])
        if kind == ord("i"):
            return _Node(kind, self.take(4), [])
        if kind in (ord("I"), ord("g")):
            return _Node(kind, self.take(8), [])
        if kind == ord("y"):
            return _Node(kind, self.take(16), [])
        if kind == ord("l"):
            head = self.take(4)
            digits = abs(_INT32.unpack(head)[0])
            return _Node(kind, head + self.take(2 * digits), [])
        if kind == ord("f"):
            return _Node(kind, self._short_text(), [])
        if kind == ord("x"):
            return _Node(kind, self._short_text() + self._short_text(), [])
        if kind in _SIZED32:
            head = self.take(4)
            return _Node(kind, head + self.take(_INT32.unpack(head)[0]), [])
        if kind in _SIZED8:
            return _Node(kind, self._short_text(), [])
        if kind == ord(")"):
            head = self.take(1)
            return _Node(kind, head, [self.read() for _ in range(head[0])])
        if kind in _CONTAINERS32:
            head = self.take(4)
            return _Node(kind, head, [self.read() for _ in range(_INT32.unpack(head)[0])])
        if kind == ord("{"):
            children = []
            while self.data[self.at:self.at + 1] != b"0":
                children += [self.read(), self.read()]
            self.take(1)
            return _Node(kind, b"", children)
        if kind == ord(":"):  # slice (marshal format 5, CPython 3.14)
            return _Node(kind, b"", [self.read(), self.read(), self.read()])
        if kind == ord("c"):
            # CPython 3.11+: argcount, posonlyargcount, kwonlyargcount, stacksize, flags (int32),
            # code, consts, names, localsplusnames, localspluskinds, filename, name, qualname,
            # firstlineno (int32), linetable, exceptiontable.
            fields: list = [self.take(4) for _ in range(5)]
            fields += [self.read() for _ in range(8)]
            fields.append(self.take(4))
            fields += [self.read(), self.read()]
            return _Node(kind, b"", fields)
        raise MarshalFormatError(f"unknown type {chr(kind)!r} at offset {start}")

    def _short_text(self) -> bytes:
        head = self.take(1)
        return head + self.take(head[0])


def _nodes(root: _Node) -> list[_Node]:
    """Every distinct node, children before parents."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in node.children if isinstance(child, _Node))
    return order


def _assign_keys(root: _Node) -> set[int]:
    """Numbers the values: equal keys for nodes of equal type and encoding, interning aside
    (hash-consing, so each key is a small int and comparing two values never walks their
    subtrees). Returns the keys of the strings interned at one of their occurrences at least."""
    numbers: dict[tuple, int] = {}
    interned: set[int] = set()
    for node in _nodes(root):
        mergeable = node.kind in _IMMUTABLE
        parts = []
        for child in node.children:
            if isinstance(child, _Node):
                parts.append(child.key)
                mergeable = mergeable and child.mergeable
            else:
                parts.append(child)
        kind = _INTERNED_FORM.get(node.kind, node.kind)
        node.key = numbers.setdefault((kind, node.payload, tuple(parts)), len(numbers))
        node.mergeable = mergeable
        if node.kind in _PLAIN_FORM:
            interned.add(node.key)
    return interned


def _occurrences(root: _Node) -> tuple[dict[int, int], dict[int, int]]:
    """How often each mergeable value occurs and each other shared node is reached, expanding
    shared subtrees the way the writer walks them (only the first occurrence is walked into)."""
    by_value: dict[int, int] = {}
    by_identity: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.kind in _NO_PAYLOAD:
            continue
        if node.mergeable:
            by_value[node.key] = by_value.get(node.key, 0) + 1
            if by_value[node.key] > 1:
                continue
        else:
            by_identity[id(node)] = by_identity.get(id(node), 0) + 1
            if by_identity[id(node)] > 1:
                continue
        stack.extend(reversed([c for c in node.children if isinstance(c, _Node)]))
    return by_value, by_identity


def _emit(root: _Node, interned: set[int], share: bool = True) -> bytes:
    """share=False: no back-references, every occurrence written in full (marshal format 2)."""
    by_value, by_identity = _occurrences(root) if share else ({}, {})
    out = bytearray()
    refs_by_value: dict[int, int] = {}
    refs_by_identity: dict[int, int] = {}
    count = 0
    # An explicit stack: deeply nested constants must not hit Python's recursion limit.
    stack: list = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):  # an int32 field of a code object, or a dict's end
            out += item
            continue
        node = item
        if node.kind in _NO_PAYLOAD:
            out.append(node.kind)
            continue
        if share:
            known = refs_by_value.get(node.key) if node.mergeable else refs_by_identity.get(id(node))
            if known is not None:
                out += b"r" + _UINT32.pack(known)
                continue
        shared = share and (by_value[node.key] > 1 if node.mergeable else by_identity[id(node)] > 1)
        if shared:
            (refs_by_value if node.mergeable else refs_by_identity)[node.key if node.mergeable else id(node)] = count
            count += 1
        form = _INTERNED_FORM if node.key in interned else _PLAIN_FORM
        out.append(form.get(node.kind, node.kind) | (_FLAG_REF if shared else 0))
        out += node.payload
        tail: list = list(node.children)
        if node.kind == ord("{"):
            tail.append(b"0")
        stack.extend(reversed(tail))
    return bytes(out)


def _parse(data: bytes) -> _Node:
    reader = _Reader(data)
    # The reader recurses like marshal's own, whose depth limit is 2000 (three frames a level).
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 3 * _MAX_MARSHAL_DEPTH + 200))
    try:
        root = reader.read()
    finally:
        sys.setrecursionlimit(limit)
    if reader.at != len(data):
        raise MarshalFormatError(f"{len(data) - reader.at} bytes after the object")
    return root


def canonical(data: bytes) -> bytes:
    """marshal data (as marshal.dumps wrote it) re-encoded canonically."""
    root = _parse(data)
    return _emit(root, _assign_keys(root))


def plain(value: object) -> bytes:
    """marshal.dumps(value, 2) (no back-references) with no string marked interned: equal for
    two values exactly when marshal would load them as equal values, interning aside."""
    return _emit(_parse(marshal.dumps(value, 2)), set(), share=False)


def dumps(value: object) -> bytes:
    """marshal.dumps(value), canonical; checked to load back to the same value."""
    result = canonical(marshal.dumps(value))
    # plain() of both, fast: in format 2 an interned string is type t, else u, with the same
    # payload; the payloads are copied, so a t in one is a t in the other (mapped alike).
    if (marshal.dumps(marshal.loads(result), 2).translate(_INTERNING_IGNORED)
            != marshal.dumps(value, 2).translate(_INTERNING_IGNORED)):
        raise MarshalFormatError("the canonical encoding does not load back to the same value "
                                 "(a marshal format this module does not know?)")
    return result
