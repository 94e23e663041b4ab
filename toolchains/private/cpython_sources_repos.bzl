"""Declares one repository per pinned source archive (a single file, unpacked by the build action),
`rps_sources` (an alias per archive: `@rps_sources//:<key>`, so MODULE.bazel names one repository
whatever the pins), and the unpacked zstd sources whose decoder the runtime compiles."""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive", "http_file")
load("//toolchains:cpython_sources.bzl", "CPYTHON_SOURCES")

def _sources_hub_impl(rctx):
    rctx.file("BUILD.bazel", "\n".join([
        "# An alias per pinned source archive (toolchains/cpython_sources.bzl); each downloads only when built.",
        'package(default_visibility = ["//visibility:public"])',
        "",
    ] + [
        'alias(name = "%s", actual = "@rps_src_%s//file")' % (key, key)
        for key in rctx.attr.keys
    ] + [""]))

_sources_hub = repository_rule(
    implementation = _sources_hub_impl,
    doc = "Aliases `<key>` -> `@rps_src_<key>//file` for each key.",
    attrs = {"keys": attr.string_list(mandatory = True)},
)

def cpython_sources_repos():
    """Declares `rps_src_<name>` (target `//file`) for every entry of CPYTHON_SOURCES, and the hub."""
    _sources_hub(name = "rps_sources", keys = sorted(CPYTHON_SOURCES))
    for name, source in CPYTHON_SOURCES.items():
        http_file(
            name = "rps_src_" + name,
            urls = source.urls,
            sha256 = source.sha256,
            downloaded_file_path = source.urls[-1].rpartition("/")[2].replace("%2b", "+"),
        )

    # The same archive as rps_src_zstd (one download: the repository cache keys it by sha256).
    zstd = CPYTHON_SOURCES["zstd"]
    http_archive(
        name = "rps_zstd_decoder",
        urls = zstd.urls,
        sha256 = zstd.sha256,
        strip_prefix = "zstd-" + zstd.version,
        build_file = Label("//toolchains/private:zstd_decoder.BUILD.bazel"),
    )
