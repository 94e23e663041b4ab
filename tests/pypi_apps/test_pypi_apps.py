"""More real PyPI applications as standalone binaries: each prints what stock CPython prints with
the same wheels installed; extension modules and their vendored libraries load from memory."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests import rlocation, stock_cpython

APPS = {Path(p).name.removesuffix("_glibc_2_28"): os.path.abspath(p) for p in os.environ["APPS"].split()}
# The system files a process may open: the C library and the libraries that manylinux lets
# wheels need, ld.so's cache, time zone and OpenSSL configuration.
_SYSTEM = re.compile(r"^(/etc/ld\.so\.cache|/etc/localtime|/etc/ssl/openssl\.cnf|/usr/lib/ssl/openssl\.cnf|"
                     r"(/usr)?/lib(64)?/(x86_64-linux-gnu/)?(lib(c|m|dl|rt|pthread|util|z|gcc_s|stdc\+\+)\.so[.0-9]*))$")


@pytest.fixture(scope="module")
def site_packages(tmp_path_factory) -> Path:
    """The locked wheels unzipped, for stock CPython."""
    return stock_cpython.install_wheels(os.environ["WHEELS"].split(), tmp_path_factory.mktemp("site-packages"))


@pytest.mark.parametrize("app", sorted(APPS))
def test_app_prints_what_stock_cpython_prints(app, site_packages, tmp_path):
    home = {"HOME": str(tmp_path)}  # matplotlib's font cache
    inside = subprocess.run([APPS[app]], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **home}, timeout=300)
    assert inside.returncode == 0, inside.stderr
    assert inside.stderr == ""  # no warning that an extension module fell back or failed
    stock = stock_cpython.run(os.environ["DISTRIBUTION"], site_packages, os.path.join(os.path.dirname(__file__), app + ".py"),
                              env=home)
    assert stock.returncode == 0, stock.stderr
    assert inside.stdout == stock.stdout


def test_pillow_draws_text_with_freetype_from_memory(tmp_path):
    """libfreetype and libharfbuzz need each other: the runtime loads the pair from memory files
    with one dlopen (docs/resources-format.md, "cycle patches"); no file is opened for them."""
    strace = os.path.abspath(os.environ["STRACE"])
    libunwind = rlocation.paths("LIBUNWIND")[0].parent
    log = tmp_path / "strace.log"
    binary = APPS["pillow_app"]
    result = subprocess.run([strace, "-f", "-qq", "-s", "256", "-o", str(log), "-e", "trace=%file,memfd_create", "--", binary],
                            capture_output=True, text=True, env={"LD_LIBRARY_PATH": str(libunwind), "PATH": "/usr/bin:/bin"},
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "font FreeTypeFont" in result.stdout and "'freetype2': True" in result.stdout
    lines = log.read_text().splitlines()
    memfds = [line for line in lines if "memfd_create(" in line]
    assert any('"rps:libfreetype-' in line for line in memfds) and any('"rps:libharfbuzz-' in line for line in memfds)
    opened = []
    for line in lines:
        call = re.search(r'\b(open|openat)\((?:AT_FDCWD, )?"([^"]*)"', line)
        if not call or "= -1 " in line:
            continue
        path = call.group(2)
        # pillow itself dlopen()s the system's libfribidi for its raqm text layout when there is one.
        if path == binary or path.startswith("/proc/") or _SYSTEM.match(path) or re.search(r"/lib(fribidi|raqm)\.so", path):
            continue
        opened.append(line)
    assert opened == [], "\n".join(opened)
