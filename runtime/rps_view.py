"""_rps_view: the packed files, read-only, at their virtual paths under sys.executable + "/".

The C half (`_rps_pathhook`) wraps the file functions of `posix` and `_io` and calls the function
of the same role here only for a path that starts with the executable's path and "/"; this
module is imported the first time that happens, so programs that never use such a path never
load it. What is in the view (docs/rules.md, "Files by path"):

- a directory for every package (namespace packages too), and those that package data and
  `*.dist-info` paths imply;
- `<package>/<path>` for every packed package data file, `<name>.dist-info/<path>` for every
  metadata file;
- `a/b.py` (`a/__init__.py`) for every module whose source is embedded (`embed_sources`), and
  the extension modules of wheels by their file names.

A relative path that leads here is sent by the C half after the kernel failed it with ENOTDIR
(`under()` decides); `_lookup` resolves it against the current directory.

The executable itself stays the file it is: `<binary>/` and `<binary>/..` are not directories
(ENOTDIR, as the kernel says). Files open as sealed, read-only memory files (`memfd_create`), so
`open()` returns CPython's own file objects (name, mode, fileno, os.fstat, read-only mmap);
where memory files are unavailable, an in-memory io.BytesIO stands in (no fileno).
"""

import errno
import sys

import _rps_blob
import _rps_importer
import _rps_pathhook

_MODULES = _rps_blob.MODULES
_RESOURCES = _rps_blob.RESOURCES
_METADATA = _rps_blob.METADATA
_original = _rps_pathhook.original
_PREFIX = _rps_pathhook.prefix()
_FILE_MODE = 0o100444  # S_IFREG | r--r--r--
_DIR_MODE = 0o40555    # S_IFDIR | r-xr-xr-x

_tree = None       # {directory: {name: None (a directory) | (table, index, payload) (a file)}}
_inodes = {}       # directory -> inode number
_binary_stat = None


def _build():
    """The directory tree of the packed files (once, on first use)."""
    global _tree
    tree = {"": {}}

    def directory(path):
        if path not in tree:
            parent, _, name = path.rpartition("/")
            directory(parent)
            tree[parent][name] = None
            tree[path] = {}
            _inodes[path] = len(_inodes) + 1

    def file(path, node):
        parent, _, name = path.rpartition("/")
        directory(parent)
        tree[parent].setdefault(name, node)

    for name, index, flags in _rps_blob.names(_MODULES, ""):
        path = name.replace(".", "/")
        if flags & _rps_blob.PACKAGE:
            directory(path)
        if flags & _rps_blob.EXTENSION:
            origin = _rps_importer._origin(name, flags)
            file(origin[len(_PREFIX):], (_MODULES, index, 0))
        elif flags & _rps_blob.SOURCE:
            file(path + "/__init__.py" if flags & _rps_blob.PACKAGE else path + ".py", (_MODULES, index, 1))
    for name, index, _ in _rps_blob.names(_RESOURCES, ""):
        package, _, rest = name.partition("/")
        file(package.replace(".", "/") + "/" + rest, (_RESOURCES, index, 0))
    for name, index, _ in _rps_blob.names(_METADATA, ""):
        file(name, (_METADATA, index, 0))
    _tree = tree
    return tree


def _error(code, path, path2=None):
    import os
    if path2 is not None:
        return OSError(code, os.strerror(code), path, None, path2)
    return OSError(code, os.strerror(code), path)


def _text(path):
    import os
    path = os.fspath(path)
    text = os.fsdecode(path) if isinstance(path, bytes) else path
    if "\0" in text:
        raise ValueError("embedded null byte")  # as posix's own path conversion says
    return text


def _absolute(text):
    """A relative path resolved against the current directory, its ".." taken lexically (as
    os.path.abspath does) up to the executable; what follows it is left for _lookup, as in a
    path that starts with the executable's."""
    import os
    parts = [part for part in os.getcwd().split("/") if part]
    rest = text.split("/")
    executable = _PREFIX[:-1]
    for i, part in enumerate(rest):
        if "/" + "/".join(parts) == executable:
            return _PREFIX + "/".join(rest[i:])
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/" + "/".join(parts)


def under(path):
    """Whether a relative path leads under the executable (asked by the C half when the kernel
    failed it with ENOTDIR)."""
    try:
        return _absolute(_text(path)).startswith(_PREFIX)
    except (OSError, ValueError):  # no current directory; an undecodable path
        return False


def _lookup(path):
    """(relative path, node) for a path under the executable (or a relative path leading there):
    node None for a directory, else (table, index, payload). Raises the OSError the kernel would
    give for such a path, naming the path as given."""
    tree = _tree or _build()
    text = _text(path)
    if not text.startswith(_PREFIX):
        text = _absolute(text)
        if not text.startswith(_PREFIX):  # the current directory changed since the kernel's answer
            raise _error(errno.ENOTDIR, path)
    rest = text[len(_PREFIX):]
    where = []
    node = None
    for part in rest.split("/"):
        if node is not None:
            raise _error(errno.ENOTDIR, path)  # a file with more after it
        if part == "..":
            if where:
                where.pop()
            if not where:
                raise _error(errno.ENOTDIR, path)  # back at the executable: a file
            continue
        if part in ("", "."):
            if not where:
                raise _error(errno.ENOTDIR, path)
            continue
        children = tree["/".join(where)]
        if part not in children:
            raise _error(errno.ENOENT, path)
        node = children[part]
        where.append(part)
    if not where:
        raise _error(errno.ENOTDIR, path)
    return "/".join(where), node


def _length(node):
    table, index, payload = node
    return _rps_blob.lengths(table, index)[payload]


def _stat_result(relative, node):
    global _binary_stat
    import os
    if _binary_stat is None:
        _binary_stat = _original("stat")(sys.executable)
    base = _binary_stat
    if node is None:
        mode, inode, nlink, size = _DIR_MODE, _inodes.get(relative, 0), 2, 0
    else:
        table, index, payload = node
        mode, nlink, size = _FILE_MODE, 1, _length(node)
        inode = (1 << 40) | (table << 33) | (index << 1) | payload
    return os.stat_result(
        (mode, inode, base.st_dev, nlink, base.st_uid, base.st_gid, size,
         int(base.st_atime), int(base.st_mtime), int(base.st_ctime)),
        {"st_atime": base.st_atime, "st_mtime": base.st_mtime, "st_ctime": base.st_ctime,
         "st_atime_ns": base.st_atime_ns, "st_mtime_ns": base.st_mtime_ns, "st_ctime_ns": base.st_ctime_ns,
         "st_blksize": base.st_blksize, "st_blocks": (size + 511) // 512, "st_rdev": 0})


# --- the functions of posix and _io, for paths under the executable --------------------------

def stat(path, *, dir_fd=None, follow_symlinks=True):
    return _stat_result(*_lookup(path))


def lstat(path, *, dir_fd=None):
    return _stat_result(*_lookup(path))


def access(path, mode, *, dir_fd=None, effective_ids=False, follow_symlinks=True):
    import os
    try:
        _, node = _lookup(path)
    except OSError:
        return False
    if mode & os.W_OK:
        return False  # a read-only file system
    return not (mode & os.X_OK and node is not None)


def _children(path):
    relative, node = _lookup(path)
    if node is not None:
        raise _error(errno.ENOTDIR, path)
    return sorted(_tree[relative])


def listdir(path=None):
    import os
    names = _children(path)
    if isinstance(os.fspath(path), bytes):
        return [os.fsencode(name) for name in names]
    return names


def readlink(path, *, dir_fd=None):
    _lookup(path)
    raise _error(errno.EINVAL, path)  # not a symbolic link


def listxattr(path=None, *, follow_symlinks=True):
    _lookup(path)
    return []


def getxattr(path, attribute, *, follow_symlinks=True):
    _lookup(path)
    raise _error(errno.ENODATA, path)


def statvfs(path):
    _lookup(path)
    return _original("statvfs")(sys.executable)


def mkdir(path, mode=0o777, *, dir_fd=None):
    try:
        _lookup(path)
    except OSError:
        raise _error(errno.EROFS, path) from None
    raise _error(errno.EEXIST, path)


def read_only(path, *args, **kwargs):
    """rmdir, remove, unlink, chmod, chown, utime, truncate, setxattr, ...: as the kernel, a
    missing path is reported before the read-only file system."""
    _lookup(path)
    raise _error(errno.EROFS, path)


def read_only_new(path, *args, **kwargs):
    """mkfifo, mknod: they create the path."""
    raise _error(errno.EROFS, path)


def read_only2(src, dst, *args, **kwargs):
    """rename, replace, link."""
    raise _error(errno.EROFS, src, dst)


def read_only_dst(src, dst, *args, **kwargs):
    """symlink: only its destination is created."""
    raise _error(errno.EROFS, dst)


class _NoMemoryFile(Exception):
    """This system has no memory files: io_open falls back to an in-memory file object."""


_WRITE_FLAGS = None


def _open_fd(path, flags):
    """A read-only file descriptor holding the packed file `path` (the opener of io_open)."""
    global _WRITE_FLAGS
    import os
    if _WRITE_FLAGS is None:
        _WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    if flags & _WRITE_FLAGS:
        raise _error(errno.EROFS, path)
    _, node = _lookup(path)
    if node is None:
        raise _error(errno.EISDIR, path)  # a directory has no descriptor in the view
    if flags & os.O_DIRECTORY:
        raise _error(errno.ENOTDIR, path)
    table, index, payload = node
    try:
        return _rps_blob.sealed_file(table, index, payload)
    except ImportError as e:  # the payload fails its checksum
        raise OSError(errno.EIO, str(e), path) from None
    except OSError as e:
        if e.filename == "memfd_create":
            raise _NoMemoryFile(node) from None
        raise


def memory_file(path):
    """(fd, "/proc/self/fd/N") of a memory file holding the packed file at `path` (bytes), for the
    dlopen() of runtime/rps_pathhook.c; None when nothing is packed there or it cannot be had."""
    try:
        _, node = _lookup(path.decode("utf-8", "surrogateescape"))
        if node is None or node[2] != 0:  # a directory; a module's source is no shared object
            return None
        return _rps_blob.memory_file(node[0], node[1])
    except (OSError, ValueError, ImportError):
        return None


def open(path, flags, mode=0o777, *, dir_fd=None):
    """os.open(): a descriptor of a sealed memory file; directories cannot be opened."""
    try:
        return _open_fd(path, flags)
    except _NoMemoryFile:
        raise _error(errno.ENOSYS, path) from None


def io_open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
    """open() / io.open() / io.open_code(): CPython's own file objects over a memory file."""
    try:
        return _original("io_open")(file, mode, buffering, encoding, errors, newline, closefd, _open_fd)
    except _NoMemoryFile as e:
        return _in_memory(file, mode, encoding, errors, newline, e.args[0])


def _in_memory(file, mode, encoding, errors, newline, node):
    """Without memory files: an io.BytesIO with the file's bytes (no fileno())."""
    import io
    table, index, payload = node
    try:
        data = bytes(_rps_blob.data(table, index)[payload] or b"")
    except ImportError as e:
        raise OSError(errno.EIO, str(e), file) from None
    binary = io.BytesIO(data)
    binary.name = file
    binary.mode = "rb"
    if "b" in mode:
        return binary
    text = io.TextIOWrapper(binary, encoding, errors, newline)
    text.mode = "r"
    return text


class _DirEntry:
    """os.scandir()'s entries for directories of the view (os.DirEntry cannot be made in Python)."""

    __slots__ = ("name", "path", "_relative", "_node")

    def __init__(self, name, path, relative, node):
        self.name = name
        self.path = path
        self._relative = relative
        self._node = node

    def inode(self):
        return self.stat().st_ino

    def is_dir(self, *, follow_symlinks=True):
        return self._node is None

    def is_file(self, *, follow_symlinks=True):
        return self._node is not None

    def is_symlink(self):
        return False

    def is_junction(self):
        return False

    def stat(self, *, follow_symlinks=True):
        return _stat_result(self._relative, self._node)

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return f"<DirEntry {self.name!r}>"

    @classmethod
    def __class_getitem__(cls, item):
        import types
        return types.GenericAlias(cls, item)


class _ScandirIterator:
    def __init__(self, entries):
        self._entries = iter(entries)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._entries)

    def close(self):
        self._entries = iter(())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def scandir(path=None):
    import os
    relative, node = _lookup(path)
    if node is not None:
        raise _error(errno.ENOTDIR, path)
    top = os.fspath(path)
    binary = isinstance(top, bytes)
    separator = b"/" if binary else "/"
    entries = []
    for name, child in sorted(_tree[relative].items()):
        entry_name = os.fsencode(name) if binary else name
        joined = top + entry_name if top.endswith(separator) else top + separator + entry_name
        entries.append(_DirEntry(entry_name, joined, relative + "/" + name, child))
    return _ScandirIterator(entries)


# --- readers in C that take a path: given the bytes instead -----------------------------------

def adapt_ssl(ssl):
    """ssl.SSLContext.load_verify_locations(cafile=<path under the executable>), called when the
    ssl module is imported: OpenSSL would open cafile itself, which the view cannot serve, so the
    certificates are read through the view and given as cadata. certifi.where() returns such a
    path (importlib.resources.as_file), and requests and urllib3 pass it on."""
    context = getattr(ssl, "SSLContext", None)
    if context is None or "load_verify_locations" in context.__dict__:
        return
    original = context.load_verify_locations

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        if cafile is not None and _text(cafile).startswith(_PREFIX):
            try:
                with io_open(cafile, "rb") as f:
                    data = f.read()
            except OSError as e:  # as _ssl raises it: no file name
                raise type(e)(e.errno, e.strerror) from None
            original(self, cadata=_pem_certificates(data) or data)
            if capath is None and cadata is None:
                return None
            cafile = None
        return original(self, cafile, capath, cadata)

    load_verify_locations.__doc__ = original.__doc__
    context.load_verify_locations = load_verify_locations


def _pem_certificates(data):
    """The PEM certificate blocks of a CA bundle as one ASCII string (cadata takes only ASCII;
    bundles such as certifi's have comments that are not), or "" when there are none (DER)."""
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    blocks = []
    start = data.find(begin)
    while start >= 0:
        stop = data.find(end, start)
        if stop < 0:
            break
        blocks.append(data[start:stop + len(end)].decode("ascii"))
        start = data.find(begin, stop)
    return "\n".join(blocks)
