"""`cpython_build`: CPython built from source with every stdlib extension module built in."""

load("//toolchains:platforms.bzl", "BUILD_MACHINE_PLATFORM", "PLATFORMS_BY_NAME", "autoconf_triple", "select_cross_build", "select_platform_field")
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
    # compression.zstd's _zstd, 3.14+ (a version without it does not list the dependency).
    "LIBZSTD": ("zstd", "-lzstd", ""),
}

_BUILD_MACHINE_TRIPLE = autoconf_triple(PLATFORMS_BY_NAME[BUILD_MACHINE_PLATFORM])

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

# --@rules_py_standalone//toolchains/cpython:optimization=optimized: what configure's --with-lto=thin
# sets for clang on Linux. (configure recognises clang by the name of $CC, `case $CC in *clang*`,
# and ours is called cc, so --with-lto would silently add nothing.) Every object of libpython is
# then LLVM bitcode and the link of each binary (zig's lld) runs the ThinLTO code generation;
# zig's `ar` is llvm-ar, which indexes bitcode members. _bootstrap_python and _freeze_module
# link with LTO too. The third-party libraries stay as they are (native objects).
_LTO_ENV = {
    "CFLAGS_NODIST": "-flto=thin",
    "LDFLAGS_NODIST": "-flto=thin",
}

# Answers configure cannot find out by running programs when cross-compiling.
_CROSS_ENV = {
    "ac_cv_file__dev_ptmx": "yes",
    "ac_cv_file__dev_ptc": "no",
    "ac_cv_buggy_getaddrinfo": "no",
}

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
        For targets the exec platform cannot run (aarch64 from x86_64), the same target built
        for the exec platform is the build Python that configure requires.
      **kwargs: passed to source_build.
    """
    env = {
        # OPT replaces configure's "-g -O3": no debug info (smaller, no build paths in it).
        # Before 3.12, configure's OPT also carries -fwrapv (later versions put
        # -fno-strict-overflow in BASECFLAGS): without it, clang turns CPython's signed-overflow
        # loops into endless ones (3.11's _bootstrap_python hangs while freezing abc.py).
        "OPT": "-DNDEBUG -O2 -Wall" + (" -fwrapv" if version in ("3.10", "3.11") else ""),
        "CFLAGS": "-fno-sanitize=undefined -Wno-date-time",
        "LDFLAGS": " ".join(["-L{dep:%s}/lib" % d for d in deps]),
        "CPPFLAGS": " ".join(["-I{dep:%s}/include" % d for d in deps]),
        "LIBS": "-ldl -lpthread",
        "MODULE_BUILDTYPE": "static",
        "PKG_CONFIG": "false",
    }
    for var, (dep, lib, include_subdir) in _DEP_FLAGS.items():
        if dep not in deps:
            continue
        env[var + "_CFLAGS"] = "-I{dep:%s}/include%s" % (dep, include_subdir)
        env[var + "_LIBS"] = "-L{dep:%s}/lib %s" % (dep, lib)
    for module in _NOT_AVAILABLE + _TEST_MODULES:
        env["py_cv_module_" + module] = "n/a"
    # python-build-standalone's "full" layout, assembled in {prefix}/python (docs/python-json.md).
    python = "{prefix}/python"
    assemble = [
        "mkdir -p %s/build/lib %s/build/Modules %s/licenses" % (python, python, python),
        # No extension module is shared; the directory tells the interpreter's path computation
        # that its exec_prefix is complete (it warns otherwise). It holds a file because Bazel's
        # disk and remote caches drop empty directories of tree artifacts.
        "mkdir -p %s/install/lib/python%s/lib-dynload" % (python, version),
        "echo 'Every extension module is built into libpython: none is shared.' > %s/install/lib/python%s/lib-dynload/README.txt" % (python, version),
        "cp libpython%s.a %s/build/lib/" % (version, python),
        # The static libraries CPython builds from its bundled copies (libmpdec, expat, HACL*).
        "find Modules -name 'lib*.a' -exec cp {} %s/build/lib/ ';'" % python,
        "cp Modules/config.c Modules/Setup.stdlib Makefile %s/build/Modules/" % python,
        "cp LICENSE %s/licenses/LICENSE.cpython.txt" % python,
    ] + ["cp {dep:%s}/lib/*.a %s/build/lib/" % (dep, python) for dep in deps]
    configure = ("./configure --host={host} --prefix=/install --with-openssl={dep:openssl}" +
                 " --with-openssl-rpath=no --without-ensurepip --disable-shared")
    source_build(
        name = name,
        archive = archive,
        deps = [":" + d for d in deps],
        env = select_cross_build(dict(env, **_CROSS_ENV), env) | select({
            "//toolchains/cpython:optimized": _LTO_ENV,
            "//conditions:default": {},
        }),
        outputs = {".": python},
        reads_optimization = True,
        programs = {
            "//tools/python_json:make_python_json": "make_python_json",
            "//tools/source_edits": "source_edits",
        },
        steps = ([
            # Nothing of CPython runs at a program's load (docs/embedding.md).
            "{tool:source_edits} mimalloc-lazy-process-load",
        ] if version not in ("3.10", "3.11") else []) + select({
            # LTO compiles the bundled libraries to bitcode too; tools/hide_symbols needs them native.
            "//toolchains/cpython:optimized": [
                "{tool:source_edits} bundled-libraries-native" +
                ("" if version in ("3.10", "3.11") else " hacl-native"),
            ],
            "//conditions:default": [],
        }) + select_cross_build(
            [configure + " --build=%s --with-build-python={tool:python_for_build}" % _BUILD_MACHINE_TRIPLE],
            [configure + " --build={host}"],
        ) + ([
            # Before 3.12, configure leaves the stdlib modules to setup.py (shared) on Linux;
            # listed in Setup.local they are built into libpython like 3.12+ does by itself.
            "cp Modules/Setup.stdlib Modules/Setup.local",
        ] if version in ("3.10", "3.11") else []) + [
            "make -j{jobs}",
            "make -j{jobs} install DESTDIR=%s" % python,
        ] + assemble + select_platform_field([
            "{tool:make_python_json} --root %s --src {src} --target-triple {pbs_triple} --libc {libc}" % python,
        ], "pbs_triple"),
        tools = {":make": "make"},
        pyc_python = select_cross_build("{tool:python_for_build}", "%s/install/bin/python%s" % (python, version)),
        build_machine_tools = select_cross_build({":" + name: "python_for_build=install/bin/python" + version}, {}),
        **kwargs
    )
