"""Repository rule: one pinned wheel (or one release's wheels for several CPythons), unpacked, as a py_library `:pkg`."""

_BUILD = """\
load("@rules_python//python:defs.bzl", "py_library")

py_library(
    name = "pkg",
    srcs = glob(["site-packages/**/*.py"]),
    data = glob(
        ["site-packages/**"],
        exclude = ["site-packages/**/*.py", "site-packages/**/*.pyc", "site-packages/**/* *"],
    ),
    imports = ["site-packages"],
    visibility = ["//visibility:public"],
    deps = {deps},
)
"""

def _pypi_wheel_repository_impl(rctx):
    # A wheel is a zip; Bazel's downloader checks the sha256 and honours the repository cache.
    rctx.download_and_extract(
        url = rctx.attr.urls,
        sha256 = rctx.attr.sha256,
        type = "zip",
        output = "site-packages",
    )
    for url, sha256 in rctx.attr.more_wheels.items():
        rctx.download_and_extract(url = url, sha256 = sha256, type = "zip", output = "site-packages")
    rctx.file("BUILD.bazel", _BUILD.format(deps = repr([str(d) for d in rctx.attr.deps])))

pypi_wheel_repository = repository_rule(
    implementation = _pypi_wheel_repository_impl,
    doc = "Downloads one wheel (sha256-checked) and exposes it as `py_library(name = \"pkg\")`.",
    attrs = {
        "deps": attr.string_list(doc = "Labels of the `:pkg` targets of the wheels this one imports."),
        "more_wheels": attr.string_dict(doc = "More wheels (URL: sha256) unpacked into the same directory: " +
                                              "the same release built for other CPython versions."),
        "sha256": attr.string(mandatory = True, doc = "sha256 of the wheel file."),
        "urls": attr.string_list(mandatory = True, doc = "Where to download the wheel, tried in order."),
    },
)
