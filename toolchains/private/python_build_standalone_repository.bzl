"""Repository rule: a prebuilt python-build-standalone "full" archive as a CPython toolchain.

Instead of building CPython from source, users on the open internet may point the toolchain at
an archive from python-build-standalone (`cpython-X.Y.Z+DATE-TRIPLE-...-full.tar.zst`). The
archive's `python/PYTHON.json` (format version 8) says what it is; the repository exposes it as a
`py_standalone_toolchain` and a `toolchain()` to register (docs/toolchain.md).
"""

load("//toolchains:platforms.bzl", "PLATFORMS")

def _platforms_by_triple():
    by_triple = {}
    for platform in PLATFORMS:
        by_triple.setdefault(platform.pbs_triple, []).append(platform)
    return by_triple

# target_triple -> the platform table's entries of that triple (both glibc floors of x86_64 gnu).
_TRIPLES = _platforms_by_triple()

_SUPPORTED_FORMAT = "8"

_BUILD = """\
load("@rules_py_standalone//toolchains/private:py_standalone_toolchain.bzl", "py_standalone_toolchain")

package(default_visibility = ["//visibility:public"])

# The distribution root (a directory from an immutable archive).
exports_files(["python"])

py_standalone_toolchain(
    name = "distribution",
    build_interpreter = {build_interpreter},
    distribution = ":python",
    platform = select({platforms}),
    version = {version},
)

toolchain(
    name = "toolchain",
    target_compatible_with = {constraints},
    target_settings = ["@rules_py_standalone//toolchains/cpython:python_{version_setting}"],
    toolchain = ":distribution",
    toolchain_type = "@rules_py_standalone//toolchains/cpython:toolchain_type",
)
"""

def _python_build_standalone_archive_impl(rctx):
    rctx.download_and_extract(url = rctx.attr.urls, sha256 = rctx.attr.sha256)
    where = "%s (%s)" % (rctx.attr.name, rctx.attr.urls[0])
    if not rctx.path("python/PYTHON.json").exists:
        fail("%s: no python/PYTHON.json in the archive: not a python-build-standalone distribution" % where)
    doc = json.decode(rctx.read("python/PYTHON.json"))
    version = str(doc.get("version"))
    if version != _SUPPORTED_FORMAT:
        fail("%s: PYTHON.json format version %s is not supported (supported: %s)" % (where, version, _SUPPORTED_FORMAT))
    if doc.get("libpython_link_mode") != "static":
        fail("%s: libpython_link_mode is %r; standalone binaries need a static libpython: use a '-full' archive" %
             (where, doc.get("libpython_link_mode")))
    triple = doc.get("target_triple", "")
    if triple not in _TRIPLES:
        fail("%s: target_triple %r is not supported (supported: %s)" % (where, triple, ", ".join(_TRIPLES)))
    platforms = _TRIPLES[triple]
    constraints = ["@platforms//os:linux", "@platforms//cpu:" + platforms[0].cpu, "@rules_py_standalone//platforms:" + platforms[0].libc]
    runs_here = platforms[0].runs_on_build_machine
    platform_by_setting = {"@rules_py_standalone//platforms:is_" + p.name: p.name for p in platforms}
    platform_by_setting["//conditions:default"] = ""
    version_name = doc["python_major_minor_version"]
    build_interpreter = rctx.attr.build_interpreter
    if not build_interpreter:
        if not runs_here:
            fail("%s: a %s distribution cannot compile bytecode on the build machine; set build_interpreter " % (where, triple) +
                 "to an x86_64 Linux archive of the same version (its :python label)")
        build_interpreter = ":python"
    rctx.file("BUILD.bazel", _BUILD.format(
        build_interpreter = repr(str(build_interpreter)),
        constraints = repr(constraints),
        platforms = repr(platform_by_setting),
        version = repr(version_name),
        version_setting = version_name.replace(".", "_"),
    ))

python_build_standalone_archive = repository_rule(
    implementation = _python_build_standalone_archive_impl,
    doc = "A python-build-standalone 'full' archive (URL + sha256) as a toolchain: register `@<name>//:toolchain`.",
    attrs = {
        "build_interpreter": attr.string(
            doc = "For distributions the build machine cannot run: label of an x86_64 Linux distribution " +
                  "directory of the same version (e.g. \"@pbs_3_13_x86_64//:python\").",
        ),
        "sha256": attr.string(mandatory = True, doc = "sha256 of the archive."),
        "urls": attr.string_list(mandatory = True, doc = "Where to download the archive (.tar.zst), tried in order."),
    },
)
