"""Real PyPI applications as standalone binaries: the same output as under stock CPython with the
same wheels installed, C extension modules loaded from memory, nothing read or written on disk."""

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests import rlocation, stock_cpython

SAMPLE = '''import sys


def greet(name:str)->str:
    return  "Hello, %s!"%name
if __name__=="__main__": print(greet(sys.argv[1]))
'''


def _path(variable: str) -> str:
    return os.path.abspath(os.environ[variable])


@pytest.fixture(scope="module")
def site_packages(tmp_path_factory) -> Path:
    """The locked wheels installed the simple way (unzipped), for stock CPython."""
    return stock_cpython.install_wheels(os.environ["WHEELS"].split(), tmp_path_factory.mktemp("site-packages"))


def _stock(site: Path, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return stock_cpython.run(_path("DISTRIBUTION"), site, *args, cwd=cwd)


def _binary(variable: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([_path(variable), *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={"PATH": "/usr/bin:/bin"})


def _console_script(module: str, function: str) -> str:
    return f"import sys; from {module} import {function}; sys.argv[0] = {module!r}; sys.exit({function}())"


def test_c_extensions_match_stock_cpython(site_packages):
    inside = _binary("EXTENSIONS_APP")
    assert inside.returncode == 0, inside.stderr
    stock = _stock(site_packages, _path("EXTENSIONS_APP_PY"))
    assert stock.returncode == 0, stock.stderr
    assert inside.stdout == stock.stdout
    result = json.loads(inside.stdout)
    assert result["speedups"] is True                          # markupsafe._speedups did the escaping
    assert result["yaml_loader"] == "yaml._yaml"               # CSafeLoader is libyaml's
    assert result["solve"] == [2.0, 3.0] and result["product"] == [[10.0, 5.0], [5.0, 5.0]]
    assert result["metadata"][:3] == ["2.2.6", "6.0.4", "MarkupSafe"] and result["py_typed"] == [True, True]
    assert result["numpy_libs_listed"] == 3  # files() finds the vendored libraries too


def test_pygmentize_console_script(site_packages, tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(SAMPLE)
    inside = _binary("PYGMENTIZE", "-f", "html", "-O", "full", "-o", str(tmp_path / "inside.html"), str(source))
    assert inside.returncode == 0, inside.stderr
    stock = _stock(site_packages, "-c", _console_script("pygments.cmdline", "main"),
                   "-f", "html", "-O", "full", "-o", str(tmp_path / "stock.html"), str(source))
    assert stock.returncode == 0, stock.stderr
    html = (tmp_path / "inside.html").read_bytes()
    assert html == (tmp_path / "stock.html").read_bytes()
    assert b'<span class="k">def</span>' in html


def test_black_formats_like_stock_black(site_packages, tmp_path):
    for name in ("inside", "stock"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "sample.py").write_text(SAMPLE)
    inside = _binary("BLACK", "--quiet", "sample.py", cwd=tmp_path / "inside")
    assert inside.returncode == 0, inside.stderr
    stock = _stock(site_packages, "-c", _console_script("black", "patched_main"), "--quiet", "sample.py",
                   cwd=tmp_path / "stock")
    assert stock.returncode == 0, stock.stderr
    formatted = (tmp_path / "inside" / "sample.py").read_text()
    assert formatted == (tmp_path / "stock" / "sample.py").read_text() != SAMPLE
    assert 'return "Hello, %s!" % name' in formatted
    version = _binary("BLACK", "--version")
    stock_version = _stock(site_packages, "-c", _console_script("black", "patched_main"), "--version")
    assert version.returncode == 0 and version.stdout == stock_version.stdout
    assert re.match(r"black, \d+\.\d+", version.stdout)


def test_rich_renders_like_stock_rich(site_packages, tmp_path):
    inside = _binary("RICH_APP", str(tmp_path / "inside.txt"))
    assert inside.returncode == 0, inside.stderr
    stock = _stock(site_packages, _path("RICH_APP_PY"), str(tmp_path / "stock.txt"))
    assert stock.returncode == 0, stock.stderr
    rendered = (tmp_path / "inside.txt").read_text()
    assert rendered == (tmp_path / "stock.txt").read_text()
    assert "Packages" in rendered and "numpy" in rendered and "\x1b[" in rendered


# Sections, a table, a list table, a code block (highlighted by pygments), footnotes, math and
# non-ASCII text; `<isonum.txt>` comes from docutils' own include directory, chapter.rst from the
# document's.
RST = r"""=====================
 Grüße aus dem Binär
=====================

:Author: Zoë Ångström
:Version: 1.0

.. include:: <isonum.txt>
.. include:: chapter.rst

.. contents::

Sections and text
=================

Ünïcödé text for |project|: naïve café, Ελληνικά, русский, 日本語, ✓ |copy| 2026 |frac12|.
A footnote reference [#note]_ and a citation [CIT2026]_.

.. [#note] The footnote, with *emphasis* and ``literal``.
.. [CIT2026] A citation.

A table
-------

=========  ========  ==========
Name       Kind      Size (KiB)
=========  ========  ==========
docutils   pure      634
numpy      compiled  16 384
Ärger      ümlaut    1
=========  ========  ==========

.. list-table:: A list table
   :header-rows: 1

   * - Key
     - Value
   * - π
     - 3.14159

Code
----

.. code:: python

   def greet(name: str) -> str:
       return f"Hello, {name}!"  # a comment

Math
----

Inline :math:`\alpha^2 + \beta^2 = \gamma^2` and a block:

.. math::

   \int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}

.. note:: An admonition with a `link <https://example.org/>`_.
"""


def _docutils_document(tmp_path: Path) -> Path:
    """The document, the binary copied beside it and a directory to run in, so that docutils'
    include paths are relative ones that lead into the binary ("../bin/docutils_app/docutils/...":
    it makes them relative to the current directory)."""
    (tmp_path / "sample.rst").write_text(RST, encoding="utf-8")
    (tmp_path / "chapter.rst").write_text(".. |project| replace:: rules_py_standalone\n", encoding="utf-8")
    (tmp_path / "bin").mkdir()
    shutil.copy(_path("DOCUTILS_APP"), tmp_path / "bin" / "docutils_app")
    (tmp_path / "work").mkdir()
    return tmp_path / "bin" / "docutils_app"


def _odt_members(path: Path) -> dict[str, bytes]:
    """An ODT file's members, without the time it was written (meta.xml's dates)."""
    with zipfile.ZipFile(path) as archive:
        return {name: re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", b"<date>", archive.read(name))
                for name in archive.namelist()}


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_docutils_renders_like_stock_docutils(site_packages, tmp_path):
    binary = _docutils_document(tmp_path)
    for name in ("inside", "stock"):
        (tmp_path / name).mkdir()
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    inside = subprocess.run([str(binary), "../sample.rst", "../inside"], capture_output=True, text=True,
                            cwd=tmp_path / "work", env=env, timeout=300)
    assert inside.returncode == 0, inside.stderr
    stock = _stock(site_packages, _path("DOCUTILS_APP_PY"), "../sample.rst", "../stock", cwd=tmp_path / "work")
    assert stock.returncode == 0, stock.stderr
    assert inside.stdout == stock.stdout and inside.stderr == stock.stderr == ""
    rendered, expected = _tree(tmp_path / "inside"), _tree(tmp_path / "stock")
    assert sorted(rendered) == sorted(expected)
    # Byte-identical, but for the time the ODT writer stamps into its zip file.
    assert _odt_members(tmp_path / "inside" / "document.odt") == _odt_members(tmp_path / "stock" / "document.odt")
    for name in sorted(rendered):
        if name != "document.odt":
            assert rendered[name] == expected[name], name
    # What was read by path: the style sheets (embedded), math.css, the language modules' labels,
    # <isonum.txt>, the LaTeX templates and the S5 theme (medium-black, based on medium-white).
    html5, german = rendered["html5.html"].decode(), rendered["html5_de.html"].decode()
    assert "Minimal style sheet for the HTML output of Docutils" in html5 and "math2html" in html5
    assert ":Author: David Goodger" in rendered["html4css1.html"].decode()  # html4css1.css
    assert 'lang="de"' in german and ">Inhalt<" in german and "<math xmlns=" in german
    assert "✓ © 2026 ½" in html5 and "rules_py_standalone" in html5
    assert '<span class="keyword">def</span>' in html5
    assert "french" in rendered["latex_titlepage.tex"].decode() and "fontspec" in rendered["xetex.tex"].decode()
    assert "ui/medium-black/slides.js" in rendered and "ui/medium-black/framing.css" in rendered


def test_docutils_reads_its_files_from_memory(tmp_path):
    binary = _docutils_document(tmp_path)
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    scratch.mkdir()
    strace = _path("STRACE")
    libunwind = rlocation.paths("LIBUNWIND")[0].parent
    log = tmp_path / "strace.log"
    # Not -f: the ODT writer may run `paperconf`, whose files are its own.
    result = subprocess.run(
        [strace, "-qq", "-y", "-s", "256", "-o", str(log), "-e", "trace=%file,write,writev,pwrite64",
         "--", str(binary), "../sample.rst", "../out"],
        capture_output=True, text=True, cwd=tmp_path / "work", timeout=300,
        env={"LD_LIBRARY_PATH": str(libunwind), "PATH": "/usr/bin:/bin", "TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr
    lines = log.read_text().splitlines()
    # Paths under the binary: absolute ones never reach the kernel; relative ones (docutils'
    # include paths, "../bin/docutils_app/docutils/...") do, and fail with ENOTDIR (the binary
    # is a file), which sends them to the view.
    absolute = [line for line in lines if f"{binary}/" in line]
    assert absolute == [], "\n".join(absolute)
    relative = [line for line in lines if re.search(r'"(\.\./)+bin/docutils_app/', line)]
    assert relative and all("= -1 ENOTDIR" in line for line in relative), "\n".join(relative)
    assert any('"../bin/docutils_app/docutils/parsers/rst/include/isonum.txt"' in line for line in relative)
    # Opened: the document, the output directory and files, the ODT writer's temporary file and the
    # system's.
    opened = []
    for line in lines:
        call = re.match(r'^(open|openat)\((?:AT_FDCWD<[^>]*>, )?"([^"]*)"', line)
        if not call or "= -1 " in line:
            continue
        path = call.group(2)
        if path in (str(binary), "../sample.rst", "../chapter.rst", "../out") or path.startswith(("../out/", str(scratch) + "/", "/proc/")) \
                or _SYSTEM.match(path) or path.startswith(str(libunwind)) or path in ("/etc/ssl/openssl.cnf", "/etc/localtime"):
            continue
        opened.append(line)
    assert opened == [], "\n".join(opened)
    # The packed files were read from memory files.
    for packed in ("docutils.writers.html5_polyglot/math.css", "docutils.writers.latex2e/default.tex",
                   "docutils.parsers.rst/include/isonum.txt", "docutils.writers.odf_odt/styles.odt"):
        assert any(f"/memfd:rps:{packed}" in line for line in lines), packed
    # Written: the rendered files (and the ODT writer's temporary file), memory files, nothing else.
    writes = []
    for line in lines:
        call = re.match(r"^(write|writev|pwrite64)\((\d+)<([^>]*)>", line)
        if call and call.group(2) not in ("1", "2") and not call.group(3).startswith(
                (str(out) + "/", str(scratch) + "/", "/memfd:rps:", "pipe:")):
            writes.append(line)
    assert writes == [], "\n".join(writes)


def _exported(binary: str) -> set[str]:
    """The symbols the binary defines in its dynamic symbol table (what a dlopen()ed object can bind to)."""
    from elftools.elf.elffile import ELFFile
    with open(binary, "rb") as f:
        dynsym = ELFFile(f).get_section_by_name(".dynsym")
        return {s.name for s in dynsym.iter_symbols() if s.name and s["st_shndx"] != "SHN_UNDEF"} if dynsym else set()


# Exported names outside the C API's Py/_Py prefixes, each for a reason.
_EXPORTED_BESIDES_PY = {
    "PY_TIMEOUT_MAX",  # C API too (pythread.h declares it PyAPI_DATA), the one name without Py/_Py
    # glibc's start files, in every executable: _IO_stdin_used is how libc tells which stdio ABI
    # the program was built for; the others mark the entry point and the data segment.
    "_IO_stdin_used", "_start", "__data_start", "data_start", "__libc_csu_init", "__libc_csu_fini",
    # runtime/rps_pathhook.c: ctypes' and cffi's dlopen() of a packed library by its path.
    "dlopen",
}


def _undefined(shared_object: bytes) -> set[str]:
    """The symbols a shared object needs from elsewhere (the interpreter, its libraries, libc)."""
    import io
    from elftools.elf.elffile import ELFFile
    dynsym = ELFFile(io.BytesIO(shared_object)).get_section_by_name(".dynsym")
    return {s.name for s in dynsym.iter_symbols() if s.name and s["st_shndx"] == "SHN_UNDEF"}


def test_only_binaries_with_extension_modules_export_the_c_api():
    exported = _exported(_path("EXTENSIONS_APP"))
    assert {"PyLong_FromLong", "PyModule_Create2", "_Py_NoneStruct", "PyExc_TypeError"} <= exported
    # The libraries inside stay hidden from the wheels' own copies: C code built with
    # -fvisibility=hidden, and assembly globals (OpenSSL's bn_mul_mont, libffi's ffi_call_unix64)
    # hidden by tools/hide_symbols, like everything of python-build-standalone's libraries.
    assert not exported & {"SSL_new", "EVP_DigestInit_ex", "deflate", "inflate", "sqlite3_open", "lzma_code",
                           "BZ2_bzCompress", "bn_mul_mont", "OPENSSL_ia32_cpuid", "ffi_call_unix64"}
    others = {name for name in exported if not name.startswith(("Py", "_Py"))}
    assert others <= _EXPORTED_BESIDES_PY, sorted(others - _EXPORTED_BESIDES_PY)
    # Nor the runtime's own functions, nor main.
    assert not {name for name in exported if name.startswith("rps_")} and "main" not in exported
    # What the wheels' extension modules need from the interpreter is all there.
    needed = set()
    for wheel in os.environ["WHEELS"].split():
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.endswith(".so") and ".libs/" not in member:
                    needed |= {name for name in _undefined(archive.read(member)) if name.startswith(("Py", "_Py"))}
    assert len(needed) > 100 and needed <= exported, sorted(needed - exported)
    hello = _exported(_path("HELLO"))
    assert not {name for name in hello if name.startswith(("Py", "_Py"))}, "a binary without wheels exports the C API"


# Libraries the manylinux wheels' extension modules need from the system (numpy: the C++ and GCC
# runtimes), which the dynamic loader opens by their standard paths.
# Kernel pseudo-files (/sys: OpenBLAS counts the CPUs) and glibc's time zone are not disk data.
_SYSTEM = re.compile(r"^/etc/ld\.so\.cache$|^/etc/localtime$|^/sys/|^/(usr/)?lib(64)?/(x86_64-linux-gnu/)?"
                     r"(libc|libm|libpthread|libdl|librt|libutil|libstdc\+\+|libgcc_s|libz)\.so[.\d]*$|"
                     r"^/(usr/)?lib(64)?/(x86_64-linux-gnu/)?ld-linux[-\w.]*\.so\.\d+$")


def test_extensions_load_from_memory_only(tmp_path):
    binary = tmp_path / "app"
    shutil.copy(_path("EXTENSIONS_APP"), binary)
    strace = _path("STRACE")
    libunwind = rlocation.paths("LIBUNWIND")[0].parent
    log = tmp_path / "strace.log"
    result = subprocess.run(
        [strace, "-f", "-qq", "-y", "-s", "256", "-o", str(log), "-e",
         "trace=open,openat,creat,write,writev,pwrite64,mkdir,rename,unlink", "--", str(binary)],
        # HOME as in any session: without it, CPython 3.13.15's ctypes (through sysconfig's user
        # base) looks the home directory up in /etc/passwd, as stock python does.
        capture_output=True, text=True, cwd=tmp_path, env={"LD_LIBRARY_PATH": str(libunwind), "HOME": str(tmp_path)},
        timeout=300)
    assert result.returncode == 0, result.stderr
    lines = log.read_text().splitlines()
    opened, writes = [], []
    for line in lines:
        call = re.match(r"^\d+\s+(\w+)\((.*)$", line)
        if not call or "= -1" in line:
            continue
        name, rest = call.groups()
        if name.startswith("open") or name == "creat":
            path = re.search(r'"([^"]*)"', rest).group(1)
            if path != str(binary) and not path.startswith("/proc/") and not _SYSTEM.match(path):
                opened.append(line)
        elif name.startswith(("write", "pwrite")):
            target = re.match(r"(\d+)<([^>]*)>", rest)
            # stdout (the result) and the memory files the runtime fills with shared objects.
            if target and target.group(1) != "1" and not target.group(2).startswith("/memfd:rps:"):
                writes.append(line)
    assert any("/memfd:rps:" in line for line in lines)  # the trace covers the loading
    assert opened == [], "\n".join(opened)
    assert writes == [], "\n".join(writes)


# --- where memory files cannot hold code ----------------------------------------------------

YAML_MARKUP_OUTPUT = "&lt;i&gt;&amp;&lt;/i&gt; [1, {'a': 'b'}] True True\n"


def _without_memfd(binary: str, home: Path) -> subprocess.CompletedProcess:
    """Runs `binary` as on a kernel without memfd_create (strace makes the call fail with ENOSYS)."""
    strace = _path("STRACE")
    libunwind = rlocation.paths("LIBUNWIND")[0].parent
    return subprocess.run(
        [strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=memfd_create", "-e", "inject=memfd_create:error=ENOSYS",
         "--", _path(binary)],
        capture_output=True, text=True, timeout=300,
        env={"LD_LIBRARY_PATH": str(libunwind), "HOME": str(home), "PATH": "/usr/bin:/bin"})


def test_without_memfd_the_import_error_names_the_fallback(tmp_path):
    done = _without_memfd("YAML_MARKUP", tmp_path)
    # markupsafe and PyYAML catch the ImportError (PyYAML then has no CSafeLoader: the program
    # fails), so the runtime also says it once as a RuntimeWarning.
    assert done.returncode == 1 and "has no attribute 'CSafeLoader'" in done.stderr
    assert done.stderr.count("RuntimeWarning: rules_py_standalone: this system cannot run code from memory files "
                             "(memfd_create: Function not implemented)") == 1
    assert "extension_cache = True" in done.stderr
    assert not (tmp_path / ".cache").exists()  # nothing written without the opt-in


def test_extension_cache_is_private_checked_and_repaired(tmp_path):
    done = _without_memfd("YAML_MARKUP_CACHED", tmp_path)
    assert (done.returncode, done.stdout) == (0, YAML_MARKUP_OUTPUT), done.stderr
    cache = tmp_path / ".cache" / "rules_py_standalone" / "extensions"
    assert cache.stat().st_mode & 0o777 == 0o700
    files = sorted(p.name for p in cache.iterdir())
    assert any(name.endswith("-markupsafe._speedups") for name in files), files
    assert any(name.endswith("-yaml._yaml") for name in files), files

    # A damaged cached copy is noticed (compared with the packed bytes) and written again.
    speedups = next(p for p in cache.iterdir() if p.name.endswith("-markupsafe._speedups"))
    original = speedups.read_bytes()
    speedups.chmod(0o600)
    speedups.write_bytes(original[:100])
    done = _without_memfd("YAML_MARKUP_CACHED", tmp_path)
    assert (done.returncode, done.stdout) == (0, YAML_MARKUP_OUTPUT), done.stderr
    assert speedups.read_bytes() == original

    # With memory files available the cache is not used.
    speedups.unlink()
    done = subprocess.run([_path("YAML_MARKUP_CACHED")], capture_output=True, text=True, timeout=120,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert (done.returncode, done.stdout) == (0, YAML_MARKUP_OUTPUT), done.stderr
    assert not speedups.exists()

    cache.chmod(0o755)
    done = _without_memfd("YAML_MARKUP_CACHED", tmp_path)
    assert done.returncode == 1 and "is not private" in done.stderr and "mode 700" in done.stderr
