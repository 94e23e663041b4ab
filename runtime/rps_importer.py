"""_rps_importer: imports modules, resources and metadata from the executable's packed resources.

Packed into every standalone binary and executed by runtime/main.c after the interpreter's core
is up and before its main phase, so it may use only built-in and frozen modules at import time.
The look-ups and the CRC checks are in C (`_rps_blob`); this module adapts them to importlib's
protocols (PEP 451 finder/loader, importlib.resources, importlib.metadata, pkgutil) and runs
the program. Paths are virtual: see docs/resources-format.md, "Virtual paths".
"""

import sys

import _rps_blob
from _frozen_importlib import ModuleSpec

_MODULES = _rps_blob.MODULES
_RESOURCES = _rps_blob.RESOURCES
_METADATA = _rps_blob.METADATA
_PACKAGE = _rps_blob.PACKAGE
_NAMESPACE = _rps_blob.NAMESPACE
_find = _rps_blob.find
_code = _rps_blob.code
_data = _rps_blob.data
_names = _rps_blob.names

_root = ""  # sys.executable; set by install()

_NOT_IN_BINARY = (
    "No module named {name!r}: it is not in this standalone binary. Add the library that provides "
    "it to the binary's deps; for a standard-library module, see stdlib_exclude and stdlib_include "
    "(with prune = True, modules imported only dynamically must be listed in stdlib_include). The "
    "build's module report (<binary>.modules.json) lists what was packed and why.")


def _origin(fullname, flags):
    if flags & _NAMESPACE:
        return None
    path = fullname.replace(".", "/")
    return f"{_root}/{path}/__init__.py" if flags & _PACKAGE else f"{_root}/{path}.py"


def _lookup(fullname):
    found = _find(_MODULES, fullname)
    if found is None:
        raise ImportError(f"{fullname!r} is not in this binary", name=fullname)
    return found


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
            spec.submodule_search_locations = [f"{_root}/{fullname.replace('.', '/')}"]
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        spec = module.__spec__
        name = spec.name
        # find_spec's look-up result rides on the spec: no second search per import.
        index, flags = spec.loader_state if spec.loader is self and spec.loader_state else _lookup(name)
        if not flags & _NAMESPACE:
            exec(_code(index) or self._compile_source(name, index, flags), module.__dict__)

    @staticmethod
    def _compile_source(fullname, index, flags):
        # A module packed without bytecode (a deliberately invalid stdlib test file): compiling
        # its source raises the SyntaxError that importing it from disk would raise.
        source = _data(_MODULES, index)[1]
        return compile(bytes(source or b""), _origin(fullname, flags), "exec")

    # importlib.abc.InspectLoader / ExecutionLoader, used by runpy, pkgutil, linecache, inspect.
    def is_package(self, fullname):
        return bool(_lookup(fullname)[1] & _PACKAGE)

    def get_code(self, fullname):
        index, flags = _lookup(fullname)
        if flags & _NAMESPACE:
            return compile("", fullname, "exec")
        return _code(index) or self._compile_source(fullname, index, flags)

    def get_source(self, fullname):
        index, _ = _lookup(fullname)
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
        return _resource_classes()[0](fullname)

    def find_distributions(self, context=None):
        """importlib.metadata: the distributions whose *.dist-info was packed."""
        import importlib.metadata as metadata
        name = getattr(context, "name", None)
        wanted = metadata.Prepared.normalize(name) if name else None
        distribution_class = _distribution_class()
        seen = set()
        for entry, _, _ in _names(_METADATA, ""):
            directory = entry.split("/", 1)[0]
            if directory in seen:
                continue
            seen.add(directory)
            project = directory[:-len(".dist-info")].rpartition("-")[0]
            if wanted is None or metadata.Prepared.normalize(project) == wanted:
                yield distribution_class(directory)

    def invalidate_caches(self):
        pass


_importer = InMemoryImporter()


class _PathEntryFinder:
    """sys.path_hooks entry for virtual paths (sys.executable and package __path__ entries)."""

    def __init__(self, package):
        self._prefix = package + "." if package else ""

    def find_spec(self, fullname, target=None):
        rest = fullname[len(self._prefix):]
        if not fullname.startswith(self._prefix) or "." in rest:
            return None
        return _importer.find_spec(fullname)

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
    if path.startswith(_root + "/"):
        package = path[len(_root) + 1:].replace("/", ".")
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


_resource_class_cache = []


def _resource_classes():
    """importlib.resources support, defined on first use so start-up does not import it."""
    if _resource_class_cache:
        return _resource_class_cache
    import io
    from importlib.resources.abc import Traversable, TraversableResources

    class PackedResource(Traversable):
        """A file or directory of package data inside the executable (read-only)."""

        def __init__(self, package, parts=()):
            self._package = package
            self._parts = tuple(parts)

        def _key(self):
            return self._package + "/" + "/".join(self._parts)

        @property
        def name(self):
            return self._parts[-1] if self._parts else self._package.rpartition(".")[2]

        def is_file(self):
            return bool(self._parts) and _find(_RESOURCES, self._key()) is not None

        def is_dir(self):
            prefix = self._key() + "/" if self._parts else self._package + "/"
            return not self._parts or bool(_names(_RESOURCES, prefix))

        def iterdir(self):
            prefix = self._key() + "/" if self._parts else self._package + "/"
            children = []
            for name, _, _ in _names(_RESOURCES, prefix):
                child = name[len(prefix):].split("/", 1)[0]
                if child not in children:
                    children.append(child)
            return iter([PackedResource(self._package, self._parts + (c,)) for c in children])

        def joinpath(self, *descendants):
            parts = list(self._parts)
            for descendant in descendants:
                for part in str(descendant).split("/"):
                    if part in ("", "."):
                        continue
                    if part == "..":
                        raise ValueError(f"'..' is not supported in package resource paths: {descendants!r}")
                    parts.append(part)
            return PackedResource(self._package, parts)

        __truediv__ = joinpath

        def read_bytes(self):
            found = _find(_RESOURCES, self._key()) if self._parts else None
            if found is None:
                raise FileNotFoundError(2, "No such resource in this standalone binary", str(self))
            return bytes(_data(_RESOURCES, found[0])[0])

        def open(self, mode="r", *args, **kwargs):
            if mode not in ("r", "rb"):
                raise ValueError(f"package resources are read-only; cannot open with mode {mode!r}")
            data = io.BytesIO(self.read_bytes())
            return data if mode == "rb" else io.TextIOWrapper(data, *args, **kwargs)

        def __str__(self):
            return "/".join([_root, self._package.replace(".", "/"), *self._parts])

        def __repr__(self):
            return f"PackedResource({self._package!r}, {'/'.join(self._parts)!r})"

        def __eq__(self, other):
            return isinstance(other, PackedResource) and self._key() == other._key()

        def __hash__(self):
            return hash(self._key())

    class PackedResourceReader(TraversableResources):
        def __init__(self, package):
            self._package = package

        def files(self):
            return PackedResource(self._package)

    _resource_class_cache.extend([PackedResourceReader, PackedResource])
    return _resource_class_cache


_distribution_class_cache = []


def _distribution_class():
    if _distribution_class_cache:
        return _distribution_class_cache[0]
    import importlib.metadata as metadata
    import pathlib

    class PackedDistribution(metadata.Distribution):
        """A distribution whose .dist-info directory was packed into the executable."""

        def __init__(self, directory):
            self._directory = directory

        def read_text(self, filename):
            found = _find(_METADATA, f"{self._directory}/{filename}")
            if found is None:
                return None
            return str(_data(_METADATA, found[0])[0], "utf-8")

        def locate_file(self, path):
            return pathlib.PurePosixPath(_root, path)

    _distribution_class_cache.append(PackedDistribution)
    return PackedDistribution


def install(executable):
    """Called by main.c between the core and main initialization phases."""
    global _root
    _root = executable
    sys.meta_path.append(_importer)


# Options that `python` accepts before -c/-m/script; those in _WITH_VALUE take a value.
_FLAGS = set("bBdEiIOPqsSuvx")
_WITH_VALUE = set("cmWX")
_MULTIPROCESSING_COMMANDS = (
    "from multiprocessing.spawn import spawn_main;",
    "from multiprocessing.forkserver import main;",
    "from multiprocessing.resource_tracker import main;",
)


def _parse_python_command_line(argv):
    """Splits argv like `python` does: ([(option, value)], rest) where rest starts at -c/-m's
    value, the script, or is empty. Returns None if argv is not a Python command line."""
    options = []
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return options, argv[i + 1:]
        if not arg.startswith("-") or arg == "-":
            return options, argv[i:]
        if arg in ("--version", "--help"):
            options.append((arg, None))
            i += 1
            continue
        j = 1
        while j < len(arg):
            flag = arg[j]
            if flag in _WITH_VALUE:
                value = arg[j + 1:]
                if not value:
                    i += 1
                    if i >= len(argv):
                        return None
                    value = argv[i]
                options.append(("-" + flag, value))
                if flag in "cm":
                    return options, argv[i + 1:]
                break
            if flag not in _FLAGS and flag not in "hV":
                return None
            options.append(("-" + flag, None))
            j += 1
        i += 1
    return options, []


def _run_command(code, args):
    import __main__
    sys.argv[:] = ["-c"] + args
    exec(compile(code, "<string>", "exec"), __main__.__dict__)


def _run_python(options, rest):
    """`python` semantics for the opt-in Python command line."""
    for option, value in options:
        if option in ("-V", "--version"):
            print("Python " + sys.version.split()[0])
            return
        if option in ("-h", "--help"):
            print("usage: <binary> [option] ... [-c cmd | -m mod | file | -] [arg] ...\n"
                  "A standalone binary with the Python command line enabled (python_command_line = True).")
            return
        if option == "-i":
            raise SystemExit("the interactive interpreter (-i) is not available in a standalone binary")
        if option == "-W":
            sys.warnoptions.append(value)
            import warnings
            warnings._processoptions([value])
        elif option == "-X":
            key, _, val = value.partition("=")
            sys._xoptions[key] = val or True
            if key == "faulthandler":
                import faulthandler
                faulthandler.enable()
        elif option == "-u":
            sys.stdout.reconfigure(write_through=True)
            sys.stderr.reconfigure(write_through=True)
    command = next((value for option, value in options if option == "-c"), None)
    module = next((value for option, value in options if option == "-m"), None)
    if command is not None:
        _run_command(command, rest)
    elif module is not None:
        import runpy
        sys.argv[:] = [module] + rest
        runpy._run_module_as_main(module, alter_argv=True)
    elif rest:
        import __main__
        import os
        import runpy
        sys.argv[:] = rest
        if rest[0] == "-":
            code = compile(sys.stdin.read(), "<stdin>", "exec")
            exec(code, __main__.__dict__)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(rest[0])))
            runpy.run_path(rest[0], run_name="__main__")
    else:
        raise SystemExit("the interactive interpreter is not available in a standalone binary; "
                         "pass -c, -m or a script")


def run():
    """Runs the program: a multiprocessing worker, the Python command line, or the main module."""
    sys.meta_path.append(_NotInBinary)
    sys.path_hooks.insert(0, _path_hook)
    sys.path_importer_cache.pop(_root, None)
    import _rps_config
    if not sys.flags.ignore_environment:
        import os
        extra = os.environ.get("PYTHONPATH")
        if extra:
            sys.path.extend(p for p in extra.split(os.pathsep) if p)
    argv = sys.argv
    if len(argv) > 1 and argv[1].startswith("-"):
        parsed = _parse_python_command_line(argv)
        if parsed is not None:
            options, rest = parsed
            command = next((value for option, value in options if option == "-c"), None)
            if command is not None and command.startswith(_MULTIPROCESSING_COMMANDS):
                _run_command(command, rest)
                return
            if _rps_config.PYTHON_COMMAND_LINE:
                _run_python(options, rest)
                return
    _run_main(_rps_config.MAIN)


def _run_main(name):
    """Runs module `name` as __main__ like `python -m name` (runpy._run_module_as_main) does,
    without importing runpy and the importlib helpers it needs: start-up time."""
    spec = _importer.find_spec(name)
    if spec is None:
        raise ImportError(f"main module {name!r} is not in this binary", name=name)
    code = _importer.get_code(name)
    main = sys.modules["__main__"]
    main.__dict__.update(__name__="__main__", __file__=spec.origin, __cached__=None, __doc__=None,
                         __loader__=_importer, __package__=spec.parent, __spec__=spec)
    exec(code, main.__dict__)
