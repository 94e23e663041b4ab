"""Reads viewpkg's files by path through every API the files-by-path view serves, and prints what
it saw as JSON, with paths relative to the import root: run inside a binary and by stock python
from a directory, the output must be the same (test_standalone.py). `files_by_path.py binary`
also prints what only a read-only view gives (EROFS) under the key "binary"."""

import glob
import importlib.metadata
import importlib.resources
import inspect
import io
import json
import linecache
import os
import pathlib
import stat
import sys
import tokenize

import viewpkg

ROOT = os.path.dirname(os.path.dirname(viewpkg.__file__))
PKG = viewpkg.HERE
DATA = viewpkg.data_path()


def rel(path) -> str:
    return os.path.relpath(os.fspath(path), ROOT)


def outcome(function, *args, **kwargs):
    """The call's result, or its exception's type, errno and file name (relative)."""
    try:
        return function(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the type is the result
        filename = getattr(e, "filename", None)
        return {"error": type(e).__name__, "errno": getattr(e, "errno", None),
                "filename": rel(filename) if isinstance(filename, str) and filename.startswith(ROOT) else filename}


def read_all(path, mode, **kwargs):
    with open(path, mode, **kwargs) as f:
        return f.read() if "b" not in mode else list(f.read()[:8])


def kind(path):
    st = os.stat(path)
    return {"reg": stat.S_ISREG(st.st_mode), "dir": stat.S_ISDIR(st.st_mode), "size": st.st_size if stat.S_ISREG(st.st_mode) else None}


def report() -> dict:
    greeting = viewpkg.data_path("greeting.txt")
    numbers = viewpkg.data_path("nested", "numbers.bin")
    missing = viewpkg.data_path("missing.txt")
    out = {}
    out["open"] = {
        "text": read_all(greeting, "r", encoding="utf-8"),
        "text_default": read_all(greeting, "r"),
        "lines": list(open(greeting, encoding="utf-8")),
        "binary": read_all(numbers, "rb"),
        "io_open": io.open(greeting, "rb").read(5).decode(),
        "open_code": len(io.open_code(numbers).read()),
        "newline": read_all(greeting, "r", newline=""),
        "seek_tell": None,
    }
    with open(numbers, "rb") as f:
        f.seek(300)
        out["open"]["seek_tell"] = [f.read(2)[0], f.tell()]
        st = os.fstat(f.fileno())
        out["fstat"] = [stat.S_ISREG(st.st_mode), st.st_size]
        out["file_object"] = [rel(f.name), f.mode, f.readable(), f.writable(), f.seekable(), f.closed]
    with open(greeting, encoding="utf-8") as f:
        out["text_object"] = [rel(f.name), f.mode, f.encoding, type(f).__name__]
    out["stat"] = {rel(p): kind(p) for p in (greeting, numbers, DATA, PKG, viewpkg.__file__)}
    out["lstat_regular"] = stat.S_ISREG(os.lstat(greeting).st_mode)
    out["os.path"] = {
        "exists": [os.path.exists(p) for p in (greeting, DATA, missing)],
        "isfile": [os.path.isfile(p) for p in (greeting, DATA, missing)],
        "isdir": [os.path.isdir(p) for p in (greeting, DATA, missing)],
        "getsize": os.path.getsize(numbers),
        "islink": os.path.islink(greeting),
        "lexists": os.path.lexists(greeting),
        "realpath": rel(os.path.realpath(os.path.join(DATA, "nested", "..", "greeting.txt"))),
        "samefile": os.path.samefile(greeting, os.path.join(DATA, ".", "greeting.txt")),
    }
    out["listdir"] = {rel(p): sorted(os.listdir(p)) for p in (PKG, DATA, os.path.join(DATA, "nested"))}
    out["listdir_bytes"] = [n.decode() for n in sorted(os.listdir(os.fsencode(DATA)))]
    with os.scandir(DATA) as entries:
        out["scandir"] = sorted((e.name, rel(e.path), e.is_dir(), e.is_file(), e.is_symlink(),
                                 e.stat().st_size if e.is_file() else None) for e in entries)
    out["walk"] = sorted((rel(d), sorted(ds), sorted(fs)) for d, ds, fs in os.walk(PKG) if "__pycache__" not in d)
    out["access"] = {"dir": [os.access(DATA, os.R_OK), os.access(DATA, os.X_OK)],
                     "file": [os.access(greeting, os.R_OK), os.access(greeting, os.X_OK)],
                     "missing": os.access(missing, os.F_OK)}
    path = pathlib.Path(viewpkg.__file__).parent
    out["pathlib"] = {
        "exists": [(path / "data").exists(), (path / "nope").exists()],
        "is_file": (path / "data" / "greeting.txt").is_file(),
        "is_dir": (path / "data").is_dir(),
        "iterdir": sorted(p.name for p in (path / "data").iterdir()),
        "glob": sorted(rel(p) for p in path.glob("data/*.txt")),
        "rglob": sorted(rel(p) for p in path.rglob("*") if "__pycache__" not in str(p)),
        "read_text": (path / "sub" / "table.csv").read_text(encoding="utf-8"),
        "read_bytes": len((path / "data" / "nested" / "numbers.bin").read_bytes()),
        "open": (path / "sub" / "table.csv").open().readline(),
        "stat": (path / "data" / "nested" / "numbers.bin").stat().st_size,
    }
    out["glob"] = {
        "star": sorted(rel(p) for p in glob.glob(os.path.join(DATA, "*"))),
        "recursive": sorted(rel(p) for p in glob.glob(os.path.join(PKG, "**", "*.*"), recursive=True) if "__pycache__" not in p),
        "root_dir": sorted(glob.glob("**/*.md", root_dir=DATA, recursive=True)),
    }
    line = inspect.getsourcelines(viewpkg.shout)[1] + 1
    out["source"] = {
        "linecache": linecache.getline(viewpkg.__file__, line),
        "tokenize": tokenize.open(viewpkg.__file__).readline(),
        "inspect": inspect.getsource(viewpkg.shout).splitlines()[0],
        "sourcefile": rel(inspect.getsourcefile(viewpkg)),
    }
    resource = importlib.resources.files("viewpkg") / "data" / "greeting.txt"
    with importlib.resources.as_file(resource) as on_disk:
        out["as_file"] = [rel(on_disk), pathlib.Path(on_disk).read_text(encoding="utf-8")]
    with importlib.resources.as_file(importlib.resources.files("viewpkg") / "data") as directory:
        out["as_file_dir"] = sorted(os.listdir(directory))
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=viewpkg.data_path("ca.pem"))  # OpenSSL would open it itself
    out["ssl_cafile"] = [c["subject"] for c in context.get_ca_certs()]
    out["ssl_default_context"] = len(ssl.create_default_context(cafile=viewpkg.data_path("ca.pem")).get_ca_certs())
    out["ssl_missing"] = outcome(ssl.create_default_context, cafile=missing)
    dist_info = os.path.join(ROOT, "viewpkg-1.0.dist-info")
    out["metadata"] = {
        "listdir": sorted(os.listdir(dist_info)),
        "read": read_all(os.path.join(dist_info, "METADATA"), "r"),
        "version": importlib.metadata.version("viewpkg"),
    }
    out["relative"] = relative()
    out["errors"] = {
        "open_missing": outcome(open, missing),
        "stat_missing": outcome(os.stat, missing),
        "listdir_missing": outcome(os.listdir, missing),
        "open_dir": outcome(open, DATA),
        "listdir_file": outcome(os.listdir, greeting),
        "under_a_file": outcome(open, os.path.join(greeting, "x")),
        "scandir_missing": outcome(os.scandir, missing),
        "pathlib_missing": outcome(pathlib.Path(missing).read_text),
        "bad_mode": outcome(open, greeting, "rz"),
        "encoding_with_binary": outcome(open, greeting, "rb", encoding="utf-8"),
        "embedded_nul": outcome(os.stat, greeting + "\0x"),
        "os_open_file_as_directory": outcome(os.open, greeting, os.O_RDONLY | os.O_DIRECTORY),
        "remove_missing": outcome(os.remove, missing),
        "rmdir_missing": outcome(os.rmdir, missing),
        "chmod_under_a_file": outcome(os.chmod, os.path.join(greeting, "x"), 0o644),
    }
    return out


def relative() -> dict:
    """The same files by paths relative to the current directory (the import root's parent), also
    the way docutils makes them ("../<directory>/<root>/...": os.path.relpath from elsewhere)."""
    here = os.getcwd()
    os.chdir(os.path.dirname(ROOT))
    try:
        top = os.path.basename(ROOT)
        up = os.path.join("..", os.path.basename(os.path.dirname(ROOT)), top)

        def given(path):  # a relative path as given, without the names that differ between runs
            path = os.fspath(path)
            for start, name in ((up, "UP"), (top, "TOP")):
                if isinstance(path, str) and path.startswith(start + "/"):
                    return name + path[len(start):]
            return path

        def tried(function, *args, **kwargs):
            result = outcome(function, *args, **kwargs)
            if isinstance(result, dict) and "error" in result:
                result["filename"] = given(result["filename"]) if result["filename"] else None
            return result

        data = os.path.join(top, "viewpkg", "data")
        greeting = os.path.join(data, "greeting.txt")
        with open(greeting, encoding="utf-8") as f:
            opened = [f.read(), given(f.name)]
        with os.scandir(data) as entries:
            scanned = sorted((e.name, given(e.path), e.is_file()) for e in entries)
        fd = os.open(os.path.join(data, "nested", "numbers.bin"), os.O_RDONLY)
        try:
            os_open = list(os.read(fd, 4))
        finally:
            os.close(fd)
        return {
            "open": opened,
            "open_up": read_all(os.path.join(up, "viewpkg", "data", "greeting.txt"), "r", encoding="utf-8"),
            "open_dotdot": read_all(os.path.join(data, "nested", "..", "greeting.txt"), "r", encoding="utf-8"),
            "os_open": os_open,
            "stat": [kind(greeting), kind(data), kind(os.path.join(up, "viewpkg"))],
            "os.path": [os.path.exists(greeting), os.path.isfile(greeting), os.path.isdir(data),
                        os.path.exists(os.path.join(data, "missing.txt")), os.path.getsize(greeting)],
            "access": [os.access(greeting, os.R_OK), os.access(data, os.X_OK), os.access(greeting, os.X_OK)],
            "listdir": sorted(os.listdir(data)),
            "listdir_bytes": [n.decode() for n in sorted(os.listdir(os.fsencode(data)))],
            "scandir": scanned,
            "walk": sorted((given(d), sorted(ds), sorted(fs)) for d, ds, fs in os.walk(data)),
            "glob": sorted(given(p) for p in glob.glob(os.path.join(up, "viewpkg", "data", "*.txt"))),
            "pathlib": pathlib.Path(top, "viewpkg", "sub", "table.csv").read_text(encoding="utf-8"),
            "pathlib_glob": sorted(given(p) for p in pathlib.Path(data).glob("nested/*")),
            "errors": {
                "open_missing": tried(open, os.path.join(data, "missing.txt")),
                "stat_missing": tried(os.stat, os.path.join(up, "viewpkg", "missing")),
                "under_a_file": tried(open, os.path.join(greeting, "x")),
                "open_dir": tried(open, data),
                "listdir_file": tried(os.listdir, greeting),
            },
        }
    finally:
        os.chdir(here)


def binary_only() -> dict:
    """What differs from a writable directory: the view is read-only."""
    greeting = viewpkg.data_path("greeting.txt")
    new = viewpkg.data_path("new.txt")
    return {
        "open_write": outcome(open, greeting, "w"),
        "open_append": outcome(open, new, "a"),
        "os_open_write": outcome(os.open, greeting, os.O_WRONLY),
        "os_open_create": outcome(os.open, new, os.O_CREAT | os.O_WRONLY),
        "mkdir": outcome(os.mkdir, viewpkg.data_path("newdir")),
        "mkdir_existing": outcome(os.mkdir, DATA),
        "remove": outcome(os.remove, greeting),
        "rmdir": outcome(os.rmdir, DATA),
        "rename": outcome(os.rename, greeting, new),
        "pathlib_write": outcome(pathlib.Path(new).write_text, "x"),
        "access_write": os.access(greeting, os.W_OK),
        "as_file_under_binary": str(importlib.resources.as_file(importlib.resources.files("viewpkg") / "data").__enter__()).startswith(sys.executable + "/"),
        "fd_read_only": outcome(lambda: os.write(os.open(greeting, os.O_RDONLY), b"x")),
        "binary_is_a_file": [os.path.isfile(sys.executable), os.path.isdir(sys.executable + "/")],
        "readlink": outcome(os.readlink, greeting),
        "mmap": _mapped(viewpkg.data_path("nested", "numbers.bin")),
        "copytree": _copied(DATA),
        "relative": _relative_binary_only(),
    }


def _relative_binary_only():
    """Relative paths under the binary: read-only too; relative to a directory descriptor or
    through the binary's own name alone, the kernel's answer (the view does not see them)."""
    here = os.getcwd()
    os.chdir(os.path.dirname(ROOT))
    try:
        top = os.path.basename(ROOT)
        greeting = os.path.join(top, "viewpkg", "data", "greeting.txt")
        parent = os.open(".", os.O_RDONLY)
        try:
            dir_fd = outcome(os.stat, greeting, dir_fd=parent)
        finally:
            os.close(parent)
        return {
            "open_write": outcome(open, greeting, "w"),
            "mkdir": outcome(os.mkdir, os.path.join(top, "viewpkg", "newdir")),
            "dir_fd": dir_fd,
            "binary": [os.path.isfile(top), outcome(os.listdir, top + "/")],
        }
    finally:
        os.chdir(here)


def _mapped(path):
    """A packed file's descriptor maps read-only; writable shared mappings are refused (sealed)."""
    import mmap
    with open(path, "rb") as f:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            head = list(mapped[:3])
        return [head, outcome(lambda: mmap.mmap(f.fileno(), 0))]


def _copied(directory):
    """shutil.copytree out of the binary: the same files and bytes."""
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as target:
        shutil.copytree(directory, os.path.join(target, "copy"))
        copied = {}
        for top, _, files in os.walk(os.path.join(target, "copy")):
            for name in files:
                with open(os.path.join(top, name), "rb") as copy, open(os.path.join(directory, os.path.relpath(top, os.path.join(target, "copy")), name), "rb") as packed:
                    copied[os.path.relpath(os.path.join(top, name), target)] = copy.read() == packed.read()
        return sorted(copied.items())


if __name__ == "__main__":
    if sys.argv[1:2] == ["read"]:  # read <path relative to the import root>: the bytes or the error
        try:
            with open(os.path.join(ROOT, sys.argv[2]), "rb") as f:
                print(f.read().decode(), end="")
        except OSError as e:
            print(type(e).__name__, e.errno, e)
        sys.exit(0)
    if sys.argv[1:2] == ["no-memfd"]:  # as on a system without memfd_create: in-memory file objects
        import errno
        import _rps_blob

        def no_memory_files(*args):
            raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS), "memfd_create")

        _rps_blob.sealed_file = no_memory_files
        greeting = viewpkg.data_path("greeting.txt")
        with open(greeting, encoding="utf-8") as text, open(greeting, "rb") as binary:
            print(json.dumps([text.read(), rel(text.name), text.mode, binary.read(5).decode(), binary.mode,
                              outcome(binary.fileno)["error"], outcome(os.open, greeting, os.O_RDONLY)["errno"],
                              linecache.getline(viewpkg.__file__, 1).strip()]))
        sys.exit(0)
    if sys.argv[1:2] == ["overhead"]:  # overhead FILE: ns per call on an ordinary path, wrapped vs original
        import _rps_pathhook
        import time
        import timeit
        real = sys.argv[2]
        path = pathlib.Path(real)
        pairs = {
            "os.stat(str)": (lambda s=os.stat: s(real), lambda s=_rps_pathhook.original("stat"): s(real)),
            "os.stat(Path)": (lambda s=os.stat: s(path), lambda s=_rps_pathhook.original("stat"): s(path)),
            "os.stat(fd)": (lambda s=os.stat, fd=os.open(real, os.O_RDONLY): s(fd),
                            lambda s=_rps_pathhook.original("stat"), fd=os.open(real, os.O_RDONLY): s(fd)),
            "open+close": (lambda o=open: o(real, "rb").close(), lambda o=_rps_pathhook.original("io_open"): o(real, "rb").close()),
        }
        for name, (wrapped, original) in pairs.items():
            # Interleaved, the best of many short rounds in CPU time of this thread: the machine's
            # other load neither preempts nor favours one of the two.
            times = {}
            for label, function in (("wrapped", wrapped), ("original", original)) * 40:
                best = min(timeit.repeat(function, number=2000, repeat=3, timer=time.thread_time)) / 2000 * 1e9
                times[label] = min(best, times.get(label, best))
            print(f"{name}: wrapped {times['wrapped']:.0f} ns, original {times['original']:.0f} ns, "
                  f"+{times['wrapped'] - times['original']:.0f} ns ({(times['wrapped'] / times['original'] - 1) * 100:+.1f} %)")
        sys.exit(0)
    result = report()
    if sys.argv[1:] == ["binary"]:
        result["binary"] = binary_only()
    print(json.dumps(result, indent=1, sort_keys=True))
