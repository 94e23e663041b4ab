"""tools/wheel/inspect_wheel: which shared objects are extension modules, and their load order."""

import os

import pytest

from tools.wheel import inspect_wheel as iw
from tools.wheel import layout


def test_installed_paths():
    assert layout.installed_path("pkg/mod.py") == "pkg/mod.py"
    assert layout.installed_path("pkg-1.data/platlib/pkg/_c.so") == "pkg/_c.so"
    assert layout.installed_path("pkg-1.data/scripts/tool") is None


def test_extension_modules_and_vendored_libraries():
    assert layout.is_extension_module("numpy/_core/_multiarray_umath.cpython-313-x86_64-linux-gnu.so")
    assert layout.is_extension_module("pkg/_speedups.abi3.so") and layout.is_extension_module("pkg/plain.so")
    assert not layout.is_extension_module("numpy.libs/libscipy_openblas64_-56d6093b.so")
    assert layout.module_name("black/__init__.cpython-313-x86_64-linux-gnu.so") == (["black"], True)
    assert layout.module_name("85cae5__mypyc.cpython-313-x86_64-linux-gnu.so") == (["85cae5__mypyc"], False)


def test_load_order_puts_each_library_after_its_needs():
    objects = {
        "pkg/_ext.cpython-313-x86_64-linux-gnu.so": (None, ["libblas-1.so", "libc.so.6"]),
        "pkg.libs/libblas-1.so": ("libblas-1.so", ["libgfortran-2.so.5"]),
        "pkg.libs/libgfortran-2.so.5": ("libgfortran-2.so.5", ["libquadmath-3.so.0"]),
        "pkg.libs/libquadmath-3.so.0": ("libquadmath-3.so.0", []),
        "pkg/_other.cpython-313-x86_64-linux-gnu.so": (None, ["libc.so.6"]),
    }
    orders = iw.load_orders(objects, ["pkg/_ext.cpython-313-x86_64-linux-gnu.so", "pkg/_other.cpython-313-x86_64-linux-gnu.so"])
    assert orders["pkg/_ext.cpython-313-x86_64-linux-gnu.so"] == [
        "pkg.libs/libquadmath-3.so.0", "pkg.libs/libgfortran-2.so.5", "pkg.libs/libblas-1.so"]
    assert orders["pkg/_other.cpython-313-x86_64-linux-gnu.so"] == []


# pillow's vendored freetype and harfbuzz need each other.
CYCLE = {
    "PIL/_imagingft.so": (None, ["libfreetype-5.so.6", "libharfbuzz-f.so.0", "libc.so.6"]),
    "pillow.libs/libfreetype-5.so.6": ("libfreetype-5.so.6", ["libpng16-1.so.16", "libharfbuzz-f.so.0", "libbrotlidec-7.so.1"]),
    "pillow.libs/libharfbuzz-f.so.0": ("libharfbuzz-f.so.0", ["libfreetype-5.so.6", "libm.so.6"]),
    "pillow.libs/libpng16-1.so.16": ("libpng16-1.so.16", ["libz.so.1"]),
    "pillow.libs/libbrotlidec-7.so.1": ("libbrotlidec-7.so.1", ["libbrotlicommon-5.so.1"]),
    "pillow.libs/libbrotlicommon-5.so.1": ("libbrotlicommon-5.so.1", []),
}


def test_load_order_puts_a_cycle_after_everything_it_needs():
    order = iw.load_orders(CYCLE, ["PIL/_imagingft.so"])["PIL/_imagingft.so"]
    assert sorted(order) == sorted(m for m in CYCLE if m.startswith("pillow.libs/"))
    cycle = [order.index("pillow.libs/libfreetype-5.so.6"), order.index("pillow.libs/libharfbuzz-f.so.0")]
    # Both members come after every library either needs, side by side.
    assert sorted(cycle) == [len(order) - 2, len(order) - 1]


def test_cycle_patches_name_each_string_that_points_into_the_cycle(monkeypatch):
    offsets = {
        "pillow.libs/libfreetype-5.so.6": [("libpng16-1.so.16", 100), ("libharfbuzz-f.so.0", 120), ("libbrotlidec-7.so.1", 140)],
        "pillow.libs/libharfbuzz-f.so.0": [("libfreetype-5.so.6", 200), ("libm.so.6", 220)],
    }
    monkeypatch.setattr(iw, "_needed_offsets", lambda data, member: offsets[member])
    patches = iw.cycle_patches(CYCLE, ["PIL/_imagingft.so"], {m: b"" for m in CYCLE})
    assert patches == {
        "pillow.libs/libfreetype-5.so.6": [[120, 18, "libharfbuzz-f.so.0"]],
        "pillow.libs/libharfbuzz-f.so.0": [[200, 18, "libfreetype-5.so.6"]],
    }
    assert iw.cycle_patches(CYCLE, [], {}) == {}


LIBM = "/lib/x86_64-linux-gnu/libm.so.6"


@pytest.mark.skipif(not os.path.exists(LIBM), reason=f"needs a glibc shared object at {LIBM} (Debian x86_64)")
def test_needed_offsets_point_at_the_strings_in_the_file():
    with open(LIBM, "rb") as f:
        data = f.read()
    needed = iw._needed_offsets(data, LIBM)
    assert needed and any(name.startswith("libc.so") for name, _ in needed)
    for name, offset in needed:
        assert data[offset:offset + len(name) + 1] == name.encode() + b"\0"


def test_wheel_policy_allows_the_manylinux_runtime_but_keeps_the_glibc_floor():
    policy = iw.wheel_policy(iw.audit.load_policy("linux_x86_64_gnu"))
    assert policy.allows_library("libstdc++.so.6") and not policy.allows_library("libssl.so.3")
    assert policy.max_symbol_versions["GLIBC"] == "2.17" and policy.max_symbol_versions["GLIBCXX"] == "3.4.19"


def test_wheel_policy_of_the_2_28_floor_allows_gcc_8_runtimes():
    policy = iw.wheel_policy(iw.audit.load_policy("linux_x86_64_gnu_2_28"))
    assert policy.max_symbol_versions["GLIBC"] == "2.28" and policy.max_symbol_versions["GLIBCXX"] == "3.4.24"
