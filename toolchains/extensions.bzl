"""Module extensions of rules_py_standalone: each declares one family of pinned repositories."""

load("//toolchains/private:cpython_sources_repos.bzl", "cpython_sources_repos")
load("//toolchains/private:python_build_standalone_repository.bzl", "python_build_standalone_archive")
load("//toolchains/private:pypi_wheels_repos.bzl", "dev_pypi_wheels_repos", "pypi_wheels_repos")
load("//toolchains/private:uv_repos.bzl", "uv_repos")
load("//toolchains/private:zig_sdk_repos.bzl", "zig_sdk_repos")

def _repos_extension(declare_repos, doc):
    def _impl(module_ctx):
        declare_repos()
        return module_ctx.extension_metadata(reproducible = True)

    return module_extension(implementation = _impl, doc = doc)

pypi = _repos_extension(pypi_wheels_repos, "The pinned wheels the helper tools import (toolchains/pypi_wheels.bzl).")

dev_pypi = _repos_extension(dev_pypi_wheels_repos, "The pinned wheels of this module's tests and benchmarks (a dev dependency).")

uv = _repos_extension(uv_repos, "The pinned uv that tools/lock runs, one repository per exec platform (toolchains/uv_versions.bzl).")

zig = _repos_extension(zig_sdk_repos, "The pinned zig compiler, one repository per exec platform (toolchains/zig_versions.bzl).")

sources = _repos_extension(cpython_sources_repos, "The pinned source archives of the CPython distribution (toolchains/cpython_sources.bzl).")

def _python_build_standalone_impl(module_ctx):
    for mod in module_ctx.modules:
        for archive in mod.tags.archive:
            python_build_standalone_archive(
                name = archive.name,
                urls = archive.urls,
                sha256 = archive.sha256,
                build_interpreter = archive.build_interpreter,
            )
    return module_ctx.extension_metadata(reproducible = True)

python_build_standalone = module_extension(
    implementation = _python_build_standalone_impl,
    doc = "Prebuilt python-build-standalone 'full' archives as CPython toolchains (docs/toolchain.md).",
    tag_classes = {
        "archive": tag_class(
            attrs = {
                "build_interpreter": attr.string(doc = "See python_build_standalone_archive."),
                "name": attr.string(mandatory = True, doc = "Repository name; register @<name>//:toolchain."),
                "sha256": attr.string(mandatory = True),
                "urls": attr.string_list(mandatory = True),
            },
            doc = "One archive, by URL(s) and sha256.",
        ),
    },
)
