"""`cpython_build`: CPython built from source with every stdlib extension module built in."""

load(":source_build.bzl", "source_build")

# Third-party libraries (//toolchains/cpython): configure's variable prefix -> (library target,
# link flag, include subdirectory). Given explicitly instead of asking pkg-config, which a bare
# host lacks and which would find the host's libraries.
_DEP_FLAGS = {
    "BZIP2": ("bzip2", "-lbz2", ""),
    "LIBFFI": ("libffi", "-lffi", ""),
    "LIBLZMA": ("xz", "-llzma", ""),
    "LIBSQLITE3": ("sqlite", "-lsqlite3 -lm", ""),
    "LIBUUID": ("libuuid", "-luuid", "/uuid"),
    "ZLIB": ("zlib", "-lz", ""),
}

# Modules whose libraries are not built: GPL (readline, gdbm), no terminal/GUI stack.
_NOT_AVAILABLE = ["_curses", "_curses_panel", "readline", "_dbm", "_gdbm", "_tkinter"]

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
      name: target name; its output directory is the distribution in python-build-standalone's
        layout: PYTHON.json, install/ (the `make install` tree), build/lib/ (libpython and the
        dependencies' static libraries), build/Modules/ (config.c, Setup.stdlib, Makefile),
        licenses/.
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
    # python-build-standalone's "full" layout, assembled in {prefix}/python (docs/python-json.md).
    python = "{prefix}/python"
    assemble = [
        "mkdir -p %s/build/lib %s/build/Modules %s/licenses" % (python, python, python),
        "cp libpython%s.a %s/build/lib/" % (version, python),
        "cp Modules/config.c Modules/Setup.stdlib Makefile %s/build/Modules/" % python,
        "cp LICENSE %s/licenses/LICENSE.cpython.txt" % python,
    ] + ["cp {dep:%s}/lib/*.a %s/build/lib/" % (dep, python) for dep in deps]
    source_build(
        name = name,
        archive = archive,
        deps = [":" + d for d in deps],
        env = env,
        outputs = {".": python},
        programs = {"//tools/python_json:make_python_json": "make_python_json"},
        steps = [
            "./configure --host={host} --build={host} --prefix=/install --with-openssl={dep:openssl}" +
            " --with-openssl-rpath=no --without-ensurepip --disable-shared",
            "make -j{jobs}",
            "make -j{jobs} install DESTDIR=%s" % python,
        ] + assemble + [
            "{tool:make_python_json} --root %s --src {src} --target-triple {target_triple} --libc {libc}" % python,
        ],
        tools = {":make": "make"},
        **kwargs
    )
