"""Module extensions of rules_py_standalone."""

load("//toolchains/private:cpython_sources_repos.bzl", "cpython_sources_repos")
load("//toolchains/private:pypi_wheels_repos.bzl", "pypi_wheels_repos")
load("//toolchains/private:zig_sdk_repos.bzl", "zig_sdk_repos")

def _pypi_impl(module_ctx):
    pypi_wheels_repos()
    return module_ctx.extension_metadata(reproducible = True)

pypi = module_extension(
    implementation = _pypi_impl,
    doc = "The pinned wheels the helper tools import (toolchains/pypi_wheels.bzl).",
)

def _zig_impl(module_ctx):
    zig_sdk_repos()
    return module_ctx.extension_metadata(reproducible = True)

zig = module_extension(
    implementation = _zig_impl,
    doc = "The pinned zig compiler, one repository per exec platform (toolchains/zig_versions.bzl).",
)

def _sources_impl(module_ctx):
    cpython_sources_repos()
    return module_ctx.extension_metadata(reproducible = True)

sources = module_extension(
    implementation = _sources_impl,
    doc = "The pinned source archives of the CPython distribution (toolchains/cpython_sources.bzl).",
)
