"""Declares one repository per pinned source archive (a single file, unpacked by the build action)."""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_file")
load("//toolchains:cpython_sources.bzl", "CPYTHON_SOURCES")

def cpython_sources_repos():
    """Declares `rps_src_<name>` (target `//file`) for every entry of CPYTHON_SOURCES."""
    for name, source in CPYTHON_SOURCES.items():
        http_file(
            name = "rps_src_" + name,
            urls = source.urls,
            sha256 = source.sha256,
            downloaded_file_path = source.urls[-1].rpartition("/")[2].replace("%2b", "+"),
        )
