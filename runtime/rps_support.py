"""_rps_support: the parts of the in-memory importer that most programs never use.

Imported by `_rps_importer` on first use, so start-up does not unmarshal them:
importlib.resources (package data as Traversables), importlib.metadata (packed *.dist-info
directories) and the Python command line (multiprocessing's children, python_command_line).
"""

import sys

import _rps_blob
import _rps_importer

_RESOURCES = _rps_blob.RESOURCES
_METADATA = _rps_blob.METADATA
_find = _rps_blob.find
_data = _rps_blob.data
_names = _rps_blob.names


_NO_MEMFD = (
    "this system cannot run code from memory files ({}); extension modules from wheels need "
    "memfd_create (Linux 3.17+), /proc, and executable memory files (sysctl vm.memfd_noexec 0 or 1). "
    "Build the binary with extension_cache = True to load them from a private cache directory "
    "instead (docs/pypi.md, \"C extensions\")")
_loaded_libraries = set()
_warned = False


def create_extension(spec, index):
    """Loads extension module entry `index`: first the wheel's libraries it needs (in the load
    list's order, each once), then the module itself, from memory files (docs/pypi.md). Each
    memory file is filled before its entry's other payload (the load list, the cycle patches) is
    read: the copy checks the entry's CRC-32 a window at a time, giving each window's pages back,
    where a check first would have read the whole entry at once (runtime/rps_blob.c)."""
    import _imp
    from _frozen_importlib import ModuleSpec
    module_file = _memory_file(_rps_blob.MODULES, index)
    try:
        _, load_list = _rps_blob.data(_rps_blob.MODULES, index)
        origin, *libraries = bytes(load_list).decode("utf-8").split("\n")
        try:
            for library in libraries:
                if library in _loaded_libraries:
                    continue
                entry = _library_index(library)
                if _rps_blob.lengths(_rps_blob.LIBRARIES, entry)[1]:
                    _load_cycle(library, entry)
                    continue
                _load_shared_object(_rps_blob.LIBRARIES, entry, library, _rps_blob.load_library)
                _loaded_libraries.add(library)
            return _load_shared_object(_rps_blob.MODULES, index, spec.name,
                                       lambda path: _imp.create_dynamic(ModuleSpec(spec.name, None, origin=path)),
                                       module_file)
        except ImportError as e:
            raise ImportError(f"cannot load extension module {spec.name!r} ({origin}): {e}", name=spec.name) from None
    finally:
        if isinstance(module_file, tuple):
            import os
            os.close(module_file[0])


def _library_index(library):
    found = _rps_blob.find(_rps_blob.LIBRARIES, library)
    if found is None:
        raise ImportError(f"the packed library {library!r} is missing from this binary")
    return found[0]


def _load_cycle(first, index):
    """Loads the libraries of a DT_NEEDED cycle (pillow's freetype and harfbuzz need each other)
    with one dlopen: each member in a memory file, each DT_NEEDED string naming a member written
    over with that member's /proc/self/fd path (docs/resources-format.md, "cycle patches")."""
    import os
    files = {}  # name -> (fd, path, [(offset, length, target)])
    pending = [(first, index)]
    try:
        while pending:
            name, i = pending.pop()
            if name in files:
                continue
            try:
                fd, path = _rps_blob.memory_file(_rps_blob.LIBRARIES, i)
            except OSError as e:
                _cannot_load(_NO_MEMFD.format(f"{e.filename}: {e.strerror}") +
                             f"; the libraries {first!r} and its DT_NEEDED cycle load from memory files only")
            patches = []
            files[name] = (fd, path, patches)
            for line in bytes(_rps_blob.data(_rps_blob.LIBRARIES, i)[1]).decode("utf-8").splitlines():
                offset, length, target = line.split(" ", 2)
                patches.append((int(offset), int(length), target))
                pending.append((target, _library_index(target)))
        for name, (fd, _, patches) in files.items():
            for offset, length, target in patches:
                path = files[target][1].encode()
                if len(path) > length:
                    raise ImportError(f"the library {name!r} names {target!r} in a string of {length} bytes, "
                                      f"too short for its memory file's path {path.decode()!r}")
                os.pwrite(fd, path + bytes(length - len(path)), offset)
        _rps_blob.load_library(files[first][1])
        _loaded_libraries.update(files)
    finally:
        for fd, _, _ in files.values():
            os.close(fd)


def _memory_file(table, index):
    """(fd, path) of a memory file holding the entry, or why there is none (str: the OSError)."""
    try:
        return _rps_blob.memory_file(table, index)
    except OSError as e:
        return f"{e.filename}: {e.strerror}"


def _load_shared_object(table, index, name, load, opened=None):
    """load(path) of a packed shared object: from a memory file (`opened`, which the caller
    closes, or one made and closed here), else (extension_cache = True) from its file in the
    extension cache."""
    made = opened is None
    if made:
        opened = _memory_file(table, index)
    if isinstance(opened, str):
        problem = opened
    else:
        fd, path = opened
        try:
            return load(path)
        except ImportError as e:
            # The loader names the file it could not open or map (a noexec memory file, no /proc);
            # an error about anything else (a missing library, a symbol) is the object's own.
            problem = str(e)
            if path + ":" not in problem:
                raise
        finally:
            if made:
                import os
                os.close(fd)
    import _rps_config
    if not _rps_config.EXTENSION_CACHE:
        _cannot_load(_NO_MEMFD.format(problem))
    try:
        path = _cached_file(table, index, name)
    except ImportError as e:
        _cannot_load(str(e))
    except OSError as e:
        _cannot_load(f"cannot write the extension cache: {e}")
    return load(path)


def _cannot_load(message):
    """Raises ImportError; the first time also warns (RuntimeWarning): packages often catch the
    ImportError and fall back to slower pure-Python code (markupsafe, PyYAML), so the reason
    would otherwise never show."""
    global _warned
    if not _warned:
        _warned = True
        import warnings
        warnings.warn(f"rules_py_standalone: {message}", RuntimeWarning, stacklevel=3)
    raise ImportError(message)


def _cache_directory():
    """$XDG_CACHE_HOME (or ~/.cache)/rules_py_standalone/extensions, owned by this user, mode 0700."""
    import os
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.environ["HOME"], ".cache") if os.environ.get("HOME") else None)
    if not base:
        raise ImportError("the extension cache needs HOME or XDG_CACHE_HOME")
    directory = os.path.join(base, "rules_py_standalone", "extensions")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ImportError(f"the extension cache {directory} is not private (owner {info.st_uid}, mode "
                          f"{info.st_mode & 0o777:o}); it must belong to this user with mode 700")
    return directory


def _cached_file(table, index, name):
    """The entry's file in the extension cache, named by its CRC-32 and size, written once and
    compared byte for byte with the packed copy before every use."""
    import os
    data, _ = _rps_blob.data(table, index)
    directory = _cache_directory()
    path = os.path.join(directory, f"{_rps_blob.crc32(table, index):08x}-{len(data)}-{name}")
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return path
    except OSError:
        pass
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o500)
    try:
        with open(fd, "wb", closefd=True) as f:
            f.write(data)
        os.replace(temporary, path)  # whole or not at all, also with other processes at it
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return path


def check_data_on_disk(package):
    """Before a data_on_disk package runs: each of its data files beside the executable
    (<binary>.data/<package path>/...) must be there with the bytes packed in the binary."""
    directory = _rps_importer._root + ".data"
    for prefix in (package + "/", package + "."):
        for name, index, _ in _names(_RESOURCES, prefix):
            owner, _, rest = name.partition("/")
            path = f"{directory}/{owner.replace('.', '/')}/{rest}"
            try:
                with open(path, "rb") as f:
                    same = f.read() == _data(_RESOURCES, index)[0]
            except OSError as e:
                raise ImportError(f"package {package!r} keeps its data files on disk (data_on_disk) in {directory}, "
                                  f"and {path} cannot be read ({e.strerror}): copy that directory along with "
                                  "the binary", name=package) from None
            if not same:
                raise ImportError(f"package {package!r} (data_on_disk): {path} differs from the copy packed in "
                                  "the binary; restore the directory from the same build", name=package)


def resource_reader(fullname):
    return _resource_classes()[0](fullname)


def find_distributions(context=None):
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
            return "/".join([_rps_importer._root, self._package.replace(".", "/"), *self._parts])

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

    # as_file() of packed data gives its virtual path, which the files-by-path view serves
    # (runtime/rps_view.py), instead of a copy in a temporary file or directory.
    import contextlib
    import pathlib
    from importlib.resources import _common

    @_common.as_file.register(PackedResource)
    @contextlib.contextmanager
    def _as_file(resource):
        yield pathlib.Path(str(resource))

    _resource_class_cache.extend([PackedResourceReader, PackedResource])
    return _resource_class_cache


_distribution_class_cache = []


def _module_of(parts):
    """The module a file path names (`a/b.py`, `a/__init__.py`, `a/_c.cpython-313-...so`), or None."""
    import _imp
    name = parts[-1]
    for suffix in [".py"] + _imp.extension_suffixes():
        if name.endswith(suffix):
            stem = name[:-len(suffix)]
            return ".".join(parts[:-1] if stem == "__init__" else parts[:-1] + [stem])
    return None


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
            return PackedFile(_rps_importer._root, path)

    class PackedFile(pathlib.PurePosixPath):
        """A file a distribution's RECORD lists, by its virtual path: exists() and read_*() answer
        from the packed modules, resources and metadata (importlib.metadata.files())."""

        def _relative(self):
            return str(self)[len(_rps_importer._root) + 1:] if str(self).startswith(_rps_importer._root + "/") else None

        def exists(self):
            relative = self._relative()
            if relative is None:
                return False
            parts = relative.split("/")
            if parts[0].endswith(".dist-info"):
                return _find(_METADATA, relative) is not None
            if len(parts) == 2 and parts[0].endswith(".libs"):  # auditwheel's vendored libraries
                return _find(_rps_blob.LIBRARIES, parts[1]) is not None
            module = _module_of(parts)
            if module is not None:
                found = _find(_rps_blob.MODULES, module)
                return found is not None and not found[1] & _rps_blob.NAMESPACE
            try:
                self.read_bytes()
            except OSError:
                return False
            return True

        def read_bytes(self):
            relative = self._relative()
            if relative is not None and relative.split("/")[0].endswith(".dist-info"):
                found = _find(_METADATA, relative)
                if found is not None:
                    return bytes(_data(_METADATA, found[0])[0])
            return _rps_importer._importer.get_data(str(self))

        def read_text(self, encoding="utf-8", errors="strict"):
            return self.read_bytes().decode(encoding, errors)

    _distribution_class_cache.append(PackedDistribution)
    return PackedDistribution



def multiprocessing_child(argv):
    """The code to run if argv is the command line of one of multiprocessing's children
    (python's options, then -c with one of its commands), else None: other arguments are the
    program's (a binary without python_command_line runs no other code from them)."""
    parsed = _parse_python_command_line(argv)
    if parsed is None:
        return None
    options, rest = parsed
    command = next((value for option, value in options if option == "-c"), None)
    if command is None or not command.startswith(_MULTIPROCESSING_COMMANDS):
        return None
    return _command_code(command, rest)


# Options that `python` accepts before -c/-m/script; those in _WITH_VALUE take a value.
_FLAGS = set("bBdEiIOPqRsSuvx")
_WITH_VALUE = set("cmWX")
_MULTIPROCESSING_COMMANDS = (
    "from multiprocessing.spawn import spawn_main;",
    "from multiprocessing.forkserver import main;",
    # 3.13.15: the forkserver's command reads the parent's sys.argv from its own argv[1:].
    "import sys; from multiprocessing.forkserver import main;",
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
            if flag not in _FLAGS:
                return None
            options.append(("-" + flag, None))
            j += 1
        i += 1
    return options, []


def _command_code(code, args, register_source=False):
    """-c: its code, to run in __main__'s namespace."""
    sys.argv[:] = ["-c"] + args
    compiled = compile(code, "<string>", "exec")
    if register_source:  # tracebacks show -c's lines, as python's do (3.13+)
        import linecache
        if hasattr(linecache, "_register_code"):
            linecache._register_code(compiled, code, "<string>")
    return compiled


def _install_site_builtins():
    """exit() and quit(), as site installs them (the binary does not import site)."""
    import builtins
    import _sitebuiltins
    eof = "Ctrl-D (i.e. EOF)"
    builtins.exit = _sitebuiltins.Quitter("exit", eof)
    builtins.quit = _sitebuiltins.Quitter("quit", eof)


def _packed_script(path):
    """The module a script path under the binary names (`<binary>/test/x.py` -> test.x), if it is
    packed with code; else None (the path is then read like any other, through the view)."""
    prefix = _rps_importer._root + "/"
    if not path.startswith(prefix) or not path.endswith(".py"):
        return None
    parts = path[len(prefix):-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    found = _find(_rps_blob.MODULES, ".".join(parts))
    if found is None or found[1] & (_rps_blob.NAMESPACE | _rps_blob.EXTENSION):
        return None
    return ".".join(parts)


def _script_code(path):
    """`python SCRIPT args...` (path made absolute by CPython; sys.argv is the script as given,
    then args): the script's code, to run in __main__'s namespace; a script under the binary
    from its packed code (no source needed), any other read from disk, or from the view when it
    lies under the binary. A directory or zip with __main__.py runs here (runpy), returning None."""
    import __main__
    import os
    if os.path.isdir(path):  # runpy puts it on sys.path itself, whatever safe_path says
        import runpy
        runpy.run_path(path, run_name="__main__")
        return None
    if not sys.flags.safe_path:
        _put_path0(os.path.dirname(os.path.realpath(path)))  # as python: the real directory
    module = _packed_script(path)
    __main__.__dict__.update(__file__=path, __cached__=None)
    if module is not None:
        __main__.__dict__.update(__loader__=_rps_importer._importer)
        return _rps_importer._importer.get_code(module)
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:  # as python reports it: status 2, no traceback
        sys.stderr.write(f"{sys.orig_argv[0]}: can't open file {path!r}: [Errno {e.errno}] {e.strerror}\n")
        raise SystemExit(2)
    if source.startswith(b"PK\x03\x04"):  # a zip application: runpy, as python does
        import runpy
        runpy.run_path(path, run_name="__main__")
        return None
    return compile(source, path, "exec", dont_inherit=True)


class _Path0Finder:
    """sys.path[0] as python puts it there (the script's directory, '' or the current one) is
    searched before the packed modules, as python searches it before the stdlib: a script's own
    `random.py` shadows the stdlib's, as with python (submodules follow their package's
    __path__)."""

    def __init__(self, entry):
        self.entry = entry
        # Already loaded (the import system's own), so finding a module imports nothing.
        self.path_finder = sys.modules["_frozen_importlib_external"].PathFinder

    def find_spec(self, name, path=None, target=None):
        if path is not None:
            return None
        return self.path_finder.find_spec(name, [self.entry], target)


def _put_path0(entry):
    sys.path.insert(0, entry)
    sys.meta_path.insert(sys.meta_path.index(_rps_importer._importer), _Path0Finder(entry))


def run_python(command):
    """python_command_line = True: what Py_RunMain does after start-up. CPython has parsed the
    options (-X, -W, -u, -b, -v, -O, -E, -I, -P, ... are in effect) and left the rest in
    sys.argv; `command` is ("c", text), ("m", module), ("file", absolute path) or None.
    Returns the code to run in __main__'s namespace, or None when it has run."""
    _install_site_builtins()
    if sys.flags.inspect:
        raise SystemExit("the interactive interpreter (-i) is not available in a standalone binary")
    kind, value = command or (None, None)
    if kind == "c":
        if not sys.flags.safe_path:
            _put_path0("")
        return _command_code(value, sys.argv[1:], register_source=True)
    if kind == "m":
        import runpy
        if not sys.flags.safe_path:
            import os
            _put_path0(os.getcwd())
        runpy._run_module_as_main(value, alter_argv=True)
        return None
    if kind == "file":
        return _script_code(value)
    # `-`, or options only with stdin not a terminal: python runs stdin as a script.
    if sys.argv[0] == "-" or (sys.stdin is not None and not sys.stdin.isatty()):
        if not sys.flags.safe_path:
            _put_path0("")
        return compile(sys.stdin.buffer.read(), "<stdin>", "exec", dont_inherit=True)
    raise SystemExit("the interactive interpreter is not available in a standalone binary; "
                     "pass -c, -m or a script")
