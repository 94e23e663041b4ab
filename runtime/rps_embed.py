"""_rps_embed: the Python half of the embedding API (runtime/embed.c, docs/embedding.md).

Packed into every py_standalone_library (not into binaries). embed.c drives the interpreter and
converts C values; this module finds what to run, runs it and turns results and exceptions into
what the C caller gets.
"""

import sys

import _rps_importer

# Result kinds (embed.h: RPS_EMBED_NONE, RPS_EMBED_STR, RPS_EMBED_BYTES).
NONE, STR, BYTES = 0, 1, 2
_MISSING = object()


_NOT_IN_LIBRARY = (
    "No module named {name!r}: it is not in this standalone library. Add the library that provides "
    "it to the py_standalone_library's deps; for a standard-library module, see stdlib_exclude and "
    "stdlib_include (with prune = True, modules imported only dynamically must be listed in "
    "stdlib_include). The build's module report (<library>.modules.json) lists what was packed and why.")

def setup(extra_path):
    """After the main phase: the importer's own set-up, then the host's extra sys.path entries."""
    _rps_importer.prepare()
    _rps_importer._NOT_IN_BINARY = _NOT_IN_LIBRARY
    sys.path.extend(extra_path)


def _convert(value):
    """A returned value as (kind, bytes): str as UTF-8, bytes-like as is, None, else str(value)."""
    if value is None:
        return NONE, None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTES, bytes(value)
    if not isinstance(value, str):
        value = str(value)
    return STR, value.encode("utf-8", "surrogateescape")


def call(module, function, args):
    """module.function(*args) converted for C; the module is imported first if it is not yet."""
    __import__(module)
    found = sys.modules[module]
    target = getattr(found, function, _MISSING)
    if target is _MISSING:
        raise AttributeError(f"module {module!r} has no attribute {function!r}", name=function, obj=found)
    return _convert(target(*args))


def run_string(code):
    """Runs Python source in __main__'s namespace, as `python -c` does."""
    exec(compile(code, "<string>", "exec"), sys.modules["__main__"].__dict__)


def run_module(name):
    """Runs module `name` as __main__ (like `python -m`); returns the exit status, 0 when it
    ends normally, or the status SystemExit gives: its code, 1 for a message (as python)."""
    if _rps_importer._importer.find_spec(name) is None:
        raise ModuleNotFoundError(_NOT_IN_LIBRARY.format(name=name), name=name)
    try:
        exec(_rps_importer._main_code(name), sys.modules["__main__"].__dict__)
    except SystemExit as e:
        code = e.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return 0


def is_missing(error, module, function):
    """Whether `error` says `module` itself (or a package above it) is not in the library, or
    `function` is not in it, as opposed to an error raised inside them."""
    name = getattr(error, "name", None)
    if isinstance(error, ModuleNotFoundError):
        return bool(name) and (module == name or module.startswith(name + "."))
    return (function is not None and isinstance(error, AttributeError) and name == function
            and getattr(error, "obj", None) is sys.modules.get(module) and error.__traceback__ is not None
            and error.__traceback__.tb_next is None)


def format_error(error):
    """The text the C caller gets for an exception: the traceback as python prints it, without
    the frames of this runtime (only the exception itself when no other frame is left)."""
    try:
        import traceback
        frames = traceback.extract_tb(error.__traceback__)
        kept = traceback.StackSummary.from_list(
            [f for f in frames if not f.filename.endswith(("/_rps_embed.py", "/runtime/rps_importer.py"))])
        text = "".join(traceback.format_exception_only(type(error), error))
        if kept:
            text = "Traceback (most recent call last):\n" + "".join(kept.format()) + text
        return text
    except BaseException:  # the traceback module itself failed: its type and message still help
        return f"{type(error).__name__}: {error}\n"
