"""Applies named, exact-text edits to an unpacked source tree (a build step of source_build).

Each edit replaces one passage that must occur exactly once; anything else means the pinned
source changed under the edit, and the build stops naming the edit, the file and what to update,
instead of building something other than what the edit promises.

    source_edits NAME [NAME ...] [--root DIR]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Replacement:
    path: str  # relative to the source tree
    old: str
    new: str


@dataclass(frozen=True)
class Edit:
    why: str
    replacements: tuple[Replacement, ...]


# Constructors that libraries of the distribution would run at every program's load, whether or
# not the program ever uses Python (an embedding host that never calls it pays for them): each is
# turned into the library's own run-on-first-use path, with the same effect from then on.
EDITS: dict[str, Edit] = {
    "mimalloc-lazy-process-load": Edit(
        why="CPython's mimalloc (3.12+) loads its process state (options from the environment, "
        "random seed, atexit hook) in a constructor, though a default (GIL) build allocates with it "
        "only under PYTHONMALLOC=mimalloc. Instead the first mi_process_init() call, which every "
        "allocation path makes through mi_thread_init(), runs the same mi_process_load().",
        replacements=(
            Replacement(
                "Objects/mimalloc/init.c",
                "void mi_process_init(void) mi_attr_noexcept {\n",
                "void mi_process_init(void) mi_attr_noexcept {\n"
                "  // rules_py_standalone: process load on first use, not in a constructor.\n"
                "  if (os_preloading) { mi_process_load(); return; }\n",
            ),
            Replacement(
                "Objects/mimalloc/init.c",
                "  static void __attribute__((constructor)) _mi_process_init(void) {\n"
                "    mi_process_load();\n"
                "  }\n",
                "  // rules_py_standalone: no constructor; mi_process_init() loads on first use.\n",
            ),
        ),
    ),
    # An LTO build compiles CPython's bundled libraries (their rules use the modules' flags) to
    # LLVM bitcode, whose symbols tools/hide_symbols cannot hide; clang's last -flto/-fno-lto wins.
    "bundled-libraries-native": Edit(
        why="the optimized (LTO) build keeps libmpdec and expat, CPython's bundled copies, native "
        "objects like every other third-party library, so that their symbols can be hidden. "
        "Apply before configure (Makefile.pre.in).",
        replacements=tuple(
            Replacement("Makefile.pre.in", line, line.rstrip("\n") + " -fno-lto\n")
            for line in (
                "LIBMPDEC_CFLAGS=@LIBMPDEC_CFLAGS@ $(PY_STDMODULE_CFLAGS) $(CCSHARED)\n",
                "LIBEXPAT_CFLAGS=@LIBEXPAT_CFLAGS@ $(PY_STDMODULE_CFLAGS) $(CCSHARED)\n",
            )
        ),
    ),
    "hacl-native": Edit(
        why="as bundled-libraries-native, for the HACL* libraries of CPython 3.12+ (libHacl_*.a).",
        replacements=(
            Replacement(
                "Makefile.pre.in",
                "LIBHACL_CFLAGS=-I$(srcdir)/Modules/_hacl/include -D_BSD_SOURCE -D_DEFAULT_SOURCE "
                "$(PY_STDMODULE_CFLAGS) $(CCSHARED)\n",
                "LIBHACL_CFLAGS=-I$(srcdir)/Modules/_hacl/include -D_BSD_SOURCE -D_DEFAULT_SOURCE "
                "$(PY_STDMODULE_CFLAGS) $(CCSHARED) -fno-lto\n",
            ),
        ),
    ),
    "xz-crc-dispatch-on-first-call": Edit(
        why="liblzma picks its CRC32/CRC64 implementation (CLMUL or generic) in two constructors "
        "when the compiler supports them. Without HAVE_FUNC_ATTRIBUTE_CONSTRUCTOR it uses its own "
        "first-call resolution, the same choice on the first CRC. Apply after configure (config.h).",
        replacements=(
            Replacement(
                "config.h",
                "#define HAVE_FUNC_ATTRIBUTE_CONSTRUCTOR 1\n",
                "/* rules_py_standalone: CRC dispatch on first call, no constructors. */\n"
                "/* #undef HAVE_FUNC_ATTRIBUTE_CONSTRUCTOR */\n",
            ),
        ),
    ),
}


class EditError(Exception):
    pass


def apply(name: str, root: Path) -> None:
    edit = EDITS.get(name)
    if edit is None:
        raise EditError(f"unknown edit {name!r}; the edits are: {', '.join(sorted(EDITS))}")
    # Every passage is checked before any file is written: a failed edit leaves the tree as it was.
    texts: dict[Path, str] = {}
    for replacement in edit.replacements:
        path = root / replacement.path
        if path not in texts:
            try:
                texts[path] = path.read_text(encoding="utf-8")
            except OSError as error:
                raise EditError(f"edit {name!r}: cannot read {replacement.path}: {error.strerror}") from None
        count = texts[path].count(replacement.old)
        if count != 1:
            raise EditError(
                f"edit {name!r}: {replacement.path} holds the passage to replace {count} times, not once: "
                f"the pinned source no longer matches the edit. Update edit {name!r} in "
                f"tools/source_edits/source_edits.py for this version (passage: {replacement.old.splitlines()[0].strip()!r})")
        texts[path] = texts[path].replace(replacement.old, replacement.new)
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", metavar="NAME", help="edits to apply, in order")
    parser.add_argument("--root", type=Path, default=Path("."), help="the source tree (default: the current directory)")
    args = parser.parse_args(argv)
    try:
        for name in args.names:
            apply(name, args.root)
    except EditError as error:
        print(f"source_edits: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
