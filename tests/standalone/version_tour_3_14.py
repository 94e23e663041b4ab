"""Modules and syntax new in CPython 3.14: compression.zstd (libzstd built in), template strings
(PEP 750), deferred annotations (PEP 649) and except without parentheses (PEP 758). The syntax
compiles only with a 3.14+ interpreter: the binary's bytecode comes from the embedded version's."""

import io
import sys
from string.templatelib import Interpolation

import annotationlib
from compression import zstd


def _zstd() -> None:
    data = b"standalone " * 1000
    frame = zstd.compress(data, level=10)
    print("zstd:", zstd.decompress(frame) == data, len(frame) < len(data), "_zstd" in sys.builtin_module_names)
    buffer = io.BytesIO()
    with zstd.ZstdFile(buffer, "w", level=3) as f:
        f.write(data)
    with zstd.ZstdFile(io.BytesIO(buffer.getvalue())) as f:
        print("zstd file:", f.read() == data)
    print("zstd multi-threaded:", zstd.CompressionParameter.nb_workers.bounds()[1] > 0)


def _syntax() -> None:
    name = "zstd"
    template = t"hello {name}"
    print("template:", [p.value if isinstance(p, Interpolation) else p for p in template])

    def annotated(x: NotDefinedAnywhere) -> None:  # noqa: F821 (evaluated only on request)
        pass

    print("annotations:", annotationlib.get_annotations(annotated, format=annotationlib.Format.STRING))
    try:
        raise KeyError("k")
    except ValueError, KeyError:
        print("except: caught")


def main() -> None:
    _zstd()
    _syntax()
