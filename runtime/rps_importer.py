"""_rps_importer: imports modules, resources and metadata from the executable's packed resources.

Packed into every standalone binary and executed by runtime/rps_start.c after the interpreter's core
is up and before its main phase, so it may use only built-in and frozen modules at import time.
The look-ups and the CRC checks are in C (`_rps_blob`); this module adapts them to importlib's
protocols (PEP 451 finder/loader, pkgutil) and runs the program. What most programs never use
(importlib.resources and importlib.metadata support, the Python command line) is in
`_rps_support`, imported on first use: every start pays for unmarshalling this module. Paths
are virtual: see docs/resources-format.md, "Virtual paths".
"""

import sys

import _rps_blob
from _frozen_importlib import ModuleSpec, _call_with_frames_removed
from _imp import _fix_co_filename

_MODULES = _rps_blob.MODULES
_RESOURCES = _rps_blob.RESOURCES
_PACKAGE = _rps_blob.PACKAGE
_NAMESPACE = _rps_blob.NAMESPACE
_EXTENSION = _rps_blob.EXTENSION
_find = _rps_blob.find
_code = _rps_blob.code
_data = _rps_blob.data
_names = _rps_blob.names

_root = ""  # sys.executable; set by install()
_on_disk = ()  # packages of data_on_disk (set by prepare()): their files are under <_root>.data

_NOT_IN_BINARY = (
    "No module named {name!r}: it is not in this standalone binary. Add the library that provides "
    "it to the binary's deps; for a standard-library module, see stdlib_exclude and stdlib_include "
    "(with prune = True, modules imported only dynamically must be listed in stdlib_include). The "
    "build's module report (<binary>.modules.json) lists what was packed and why.")


def _base(fullname):
    """The directory a module's virtual path is under: the executable, or for the packages of
    data_on_disk the directory beside it that holds their data files."""
    if _on_disk:
        for package in _on_disk:
            if fullname == package or fullname.startswith(package + "."):
                return _root + ".data"
    return _root


def _origin(fullname, flags):
    if flags & _NAMESPACE:
        return None
    path = fullname.replace(".", "/")
    root = _base(fullname)
    if flags & _EXTENSION:
        from _imp import extension_suffixes
        return f"{root}/{path}{'/__init__' if flags & _PACKAGE else ''}{extension_suffixes()[0]}"
    return f"{root}/{path}/__init__.py" if flags & _PACKAGE else f"{root}/{path}.py"


def _lookup(fullname):
    found = _find(_MODULES, fullname)
    if found is None:
        raise ImportError(f"{fullname!r} is not in this binary", name=fullname)
    return found


def _located_code(index, origin):
    """The module's code object, its file names (co_filename) set to its __file__ (`origin`)
    like CPython's own loaders do, so tracebacks, warnings and inspect name the file the module
    says it is."""
    code = _code(index)
    if code is None:
        # A module packed without bytecode (a deliberately invalid stdlib test file): compiling
        # its source raises the SyntaxError that importing it from disk would raise.
        return compile(bytes(_data(_MODULES, index)[1] or b""), origin, "exec")
    _fix_co_filename(code, origin)
    return code


class InMemoryImporter:
    """Meta-path finder and loader for the modules packed into the executable."""

    def find_spec(self, fullname, path=None, target=None):
        found = _find(_MODULES, fullname)
        if found is None:
            return None
        index, flags = found
        origin = _origin(fullname, flags)
        spec = ModuleSpec(fullname, self, origin=origin, loader_state=found,
                          is_package=bool(flags & _PACKAGE))
        spec.has_location = origin is not None
        if flags & _PACKAGE:
            spec.submodule_search_locations = [f"{_base(fullname)}/{fullname.replace('.', '/')}"]
        return spec

    def create_module(self, spec):
        state = spec.loader_state
        if state and state[1] & _EXTENSION:
            # A shared object from a wheel: loaded from memory by _rps_support (not on the start
            # path of programs without extension modules).
            import _rps_support
            return _rps_support.create_extension(spec, state[0])
        return None

    def exec_module(self, module):
        spec = module.__spec__
        name = spec.name
        # find_spec's look-up result rides on the spec: no second search per import.
        index, flags = spec.loader_state if spec.loader is self and spec.loader_state else _lookup(name)
        if flags & _EXTENSION:
            from _imp import exec_dynamic
            module.__file__ = spec.origin
            exec_dynamic(module)
        elif not flags & _NAMESPACE:
            if name in _on_disk:
                import _rps_support
                _rps_support.check_data_on_disk(name)
            code = _located_code(index, spec.origin or _origin(name, flags))
            _call_with_frames_removed(exec, code, module.__dict__)
            if name == "ssl":  # its cafile may be a path under the executable (certifi.where())
                import _rps_view
                _rps_view.adapt_ssl(module)

    # importlib.abc.InspectLoader / ExecutionLoader, used by runpy, pkgutil, linecache, inspect.
    def is_package(self, fullname):
        return bool(_lookup(fullname)[1] & _PACKAGE)

    def get_code(self, fullname):
        index, flags = _lookup(fullname)
        if flags & _EXTENSION:
            return None
        if flags & _NAMESPACE:
            return compile("", fullname, "exec")
        return _located_code(index, _origin(fullname, flags))

    def get_source(self, fullname):
        index, flags = _lookup(fullname)
        if flags & _EXTENSION:
            return None
        source = _data(_MODULES, index)[1]
        if source is None:
            return None
        from importlib.util import decode_source
        return decode_source(bytes(source))

    def get_filename(self, fullname):
        index, flags = _lookup(fullname)
        origin = _origin(fullname, flags)
        if origin is None:
            raise ImportError(f"namespace package {fullname!r} has no file", name=fullname)
        return origin

    def get_data(self, path):
        """Bytes of a packed file given its virtual path (pkgutil.get_data and the like)."""
        path = str(path)
        if _on_disk and path.startswith(_root + ".data/"):
            path = _root + path[len(_root) + 5:]  # data_on_disk: the packed copy (checked) is the same
        if path.startswith(_root + "/"):
            parts = path[len(_root) + 1:].split("/")
            for i in range(len(parts) - 1, 0, -1):
                found = _find(_RESOURCES, ".".join(parts[:i]) + "/" + "/".join(parts[i:]))
                if found is not None:
                    return bytes(_data(_RESOURCES, found[0])[0])
            if parts[-1].endswith(".py"):
                name = "/".join(parts)[:-3].replace("/", ".")
                if name.endswith(".__init__"):
                    name = name[:-9]
                found = _find(_MODULES, name)
                if found is not None and _data(_MODULES, found[0])[1] is not None:
                    return bytes(_data(_MODULES, found[0])[1])
        raise FileNotFoundError(2, "No such file in this standalone binary", path)

    def get_resource_reader(self, fullname):
        import _rps_support
        return _rps_support.resource_reader(fullname)

    def find_distributions(self, context=None):
        """importlib.metadata: the distributions whose *.dist-info was packed."""
        import _rps_support
        return _rps_support.find_distributions(context)

    def invalidate_caches(self):
        pass


# exec_module's frame is import machinery, as SourceLoader.exec_module's is: under the file name
# CPython's traceback pruning (import.c, remove_importlib_frames) and warnings' frame skipping
# (stacklevel) recognize, tracebacks of a failing module and warnings issued while importing it
# look as they do with CPython: no frame of this runtime between the importer and the module.
InMemoryImporter.exec_module.__code__ = InMemoryImporter.exec_module.__code__.replace(
    co_filename="<frozen importlib._bootstrap_external>")

_importer = InMemoryImporter()


class _PathEntryFinder:
    """sys.path_hooks entry for virtual paths (sys.executable and package __path__ entries)."""

    def __init__(self, package):
        self._prefix = package + "." if package else ""

    def find_spec(self, fullname, target=None):
        # Like a directory on disk, this entry holds the modules directly in it, whatever name
        # the import asks for them by: a package's directory put on sys.path (a script's, or
        # sys.path.insert(0, os.path.dirname(__file__))) imports its modules as top-level ones.
        packed = self._prefix + fullname.rpartition(".")[2]
        if packed == fullname:
            return _importer.find_spec(fullname)
        found = _find(_MODULES, packed)
        if found is None:
            return None
        flags = found[1]
        origin = _origin(packed, flags)
        spec = ModuleSpec(fullname, _importer, origin=origin, loader_state=found, is_package=bool(flags & _PACKAGE))
        spec.has_location = origin is not None
        if flags & _PACKAGE:
            spec.submodule_search_locations = [f"{_base(packed)}/{packed.replace('.', '/')}"]
        return spec

    def iter_modules(self, prefix=""):
        for name, _, flags in _names(_MODULES, self._prefix):
            rest = name[len(self._prefix):]
            if rest and "." not in rest:
                yield prefix + rest, bool(flags & _PACKAGE)

    def invalidate_caches(self):
        pass


def _path_hook(path):
    path = str(path)
    if path == _root:
        return _PathEntryFinder("")
    if path.startswith(_root + "/") or (_on_disk and path.startswith(_root + ".data/")):
        package = path[path.index("/", len(_root)) + 1:].replace("/", ".")
        found = _find(_MODULES, package)
        if found is not None and found[1] & _PACKAGE:
            return _PathEntryFinder(package)
    raise ImportError("not a path inside this standalone binary", path=path)


class _NotInBinary:
    """Last meta-path finder: an import statement that found nothing gets a message saying why."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        # Only for import statements (importlib.util.find_spec must keep returning None), and only
        # when no finder that a library appended after this one is left to ask.
        caller = sys._getframe(1)
        if (sys.meta_path and sys.meta_path[-1] is _NotInBinary and caller.f_code.co_name == "_find_spec"
                and caller.f_back is not None and caller.f_back.f_code.co_name == "_find_and_load_unlocked"):
            raise ModuleNotFoundError(_NOT_IN_BINARY.format(name=fullname), name=fullname)
        return None


def install(executable):
    """Called by rps_start.c between the core and main initialization phases."""
    global _root
    _root = executable
    sys.meta_path.append(_importer)


def prepare():
    """After the main phase: the path hook, the last finder's message, data_on_disk and
    PYTHONPATH. Returns the settings module (_rps_config)."""
    sys.meta_path.append(_NotInBinary)
    sys.path_hooks.insert(0, _path_hook)
    sys.path_importer_cache.pop(_root, None)
    import _rps_config
    global _on_disk
    _on_disk = getattr(_rps_config, "DATA_ON_DISK", ())
    if not sys.flags.ignore_environment:
        import os
        extra = os.environ.get("PYTHONPATH")
        if extra:
            sys.path.extend(p for p in extra.split(os.pathsep) if p)
    return _rps_config


# python_command_line = True: what python would run, ("c", command), ("m", module),
# ("file", path) or None, as CPython parsed it at start-up (set by rps_start.c).
python_command = None


def run():
    """Prepares the program. Returns what rps's main.c does next: a code object to run in
    __main__'s namespace (so that no frame of the runtime lies below the program's: python
    shows none of Py_RunMain's), None when the program has run (-m's runpy, a directory's
    __main__.py), or the exception it ended with, its traceback starting at its own frames."""
    try:
        return _run()
    except BaseException as error:
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_globals.get("__name__") in ("_rps_importer", "_rps_support"):
            tb = tb.tb_next
        return error.with_traceback(tb)


def _run():
    """A multiprocessing worker, the Python command line, or the main module."""
    _rps_config = prepare()
    if _rps_config.PYTHON_COMMAND_LINE:
        # Any arguments at all are python's (a first one that is not an option is a script);
        # without arguments, main runs.
        if len(sys.orig_argv) > 1:
            import _rps_support
            return _rps_support.run_python(python_command)
        sys.argv[:] = sys.orig_argv  # CPython made it [''], as for python's REPL
    elif len(sys.argv) > 1 and sys.argv[1].startswith("-"):
        # multiprocessing's children: python's options, then -c with its command.
        import _rps_support
        code = _rps_support.multiprocessing_child(sys.argv)
        if code is not None:
            return code
    return _main_code(_rps_config.MAIN)


def _main_code(name):
    """Makes __main__ module `name` like `python -m name` (runpy._run_module_as_main) does,
    without importing runpy and the importlib helpers it needs (start-up time); returns its
    code, for the caller to run in __main__'s namespace."""
    spec = _importer.find_spec(name)
    if spec is None:
        raise ImportError(f"main module {name!r} is not in this binary", name=name)
    code = _importer.get_code(name)
    main = sys.modules["__main__"]
    main.__dict__.update(__name__="__main__", __file__=spec.origin, __cached__=None, __doc__=None,
                         __loader__=_importer, __package__=spec.parent, __spec__=spec)
    return code
