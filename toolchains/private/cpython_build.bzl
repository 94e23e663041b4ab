"""`cpython_build`: CPython built from source with every stdlib extension module built in."""

load(":source_build.bzl", "source_build")

# Third-party libraries (//toolchains/cpython): configure's variable prefix -> (library target,
# link flag, include subdirectory). Given explicitly instead of asking pkg-config, which a bare
# host lacks and which would find the host's libraries.
_DEP_FLAGS = {
    "BZIP2": ("bzip2", "-lbz2", ""),
    "LIBFFI": ("libffi", "-lffi", ""),
    "LIBLZMA": ("xz", "-llzma", ""),
    "LIBUUID": ("libuuid", "-luuid", "/uuid"),
    "ZLIB": ("zlib", "-lz", ""),
}

# Modules whose libraries are not built: GPL (readline, gdbm), no terminal/GUI stack.
_NOT_AVAILABLE = ["_curses", "_curses_panel", "readline", "_dbm", "_gdbm", "_tkinter", "_sqlite3"]

# C test modules: built in, they would sit in every binary's libpython and inittab (and
# _testinternalcapi cannot link into _freeze_module); built shared, they would need
# lib-dynload. Tests that import them are skipped by CPython's test suite.
_TEST_MODULES = [
    "xxsubtype",
    "_xxtestfuzz",
    "_testbuffer",
    "_testinternalcapi",
    "_testcapi",
    "_testlimitedcapi",
    "_testclinic",
    "_testclinic_limited",
    "_testimportmultiple",
    "_testmultiphase",
    "_testsinglephase",
    "_testexternalinspection",
    "_ctypes_test",
    "xxlimited",
    "xxlimited_35",
]

def cpython_build(name, archive, version, deps, **kwargs):
    """Configures, builds and installs CPython `version` from `archive` as a static build.

    Args:
      name: target name; its output directory holds install/ (the `make install` tree) and
        build/ (libpython, config.c, Makefile and the dependencies' static libraries).
      archive: the pinned CPython source tarball.
      version: "X.Y".
      deps: the source_build targets of the third-party libraries, by label name.
      **kwargs: passed to source_build.
    """
    env = {
        # OPT replaces configure's "-g -O3": no debug info (smaller, no build paths in it).
        "OPT": "-DNDEBUG -O2 -Wall",
        "CFLAGS": "-fno-sanitize=undefined -Wno-date-time",
        "LDFLAGS": " ".join(["-L{dep:%s}/lib" % d for d in deps]),
        "CPPFLAGS": " ".join(["-I{dep:%s}/include" % d for d in deps]),
        "LIBS": "-ldl -lpthread",
        "MODULE_BUILDTYPE": "static",
        "PKG_CONFIG": "false",
    }
    for var, (dep, lib, include_subdir) in _DEP_FLAGS.items():
        env[var + "_CFLAGS"] = "-I{dep:%s}/include%s" % (dep, include_subdir)
        env[var + "_LIBS"] = "-L{dep:%s}/lib %s" % (dep, lib)
    for module in _NOT_AVAILABLE + _TEST_MODULES:
        env["py_cv_module_" + module] = "n/a"
    outputs = {
        "install": "{prefix}/install",
        "build/lib/libpython%s.a" % version: "{src}/libpython%s.a" % version,
        "build/Modules/config.c": "{src}/Modules/config.c",
        "build/Modules/Setup.stdlib": "{src}/Modules/Setup.stdlib",
        "build/Makefile": "{src}/Makefile",
        "build/LICENSE.cpython.txt": "{src}/LICENSE",
    }
    for dep in deps:
        outputs["build/deps/" + dep] = "{dep:%s}" % dep
    source_build(
        name = name,
        archive = archive,
        deps = [":" + d for d in deps],
        env = env,
        outputs = outputs,
        steps = [
            "./configure --host={host} --build={host} --prefix=/install --with-openssl={dep:openssl}" +
            " --with-openssl-rpath=no --without-ensurepip --disable-shared",
            "make -j{jobs}",
            "make -j{jobs} install DESTDIR={prefix}",
        ],
        tools = {":make": "make"},
        **kwargs
    )
