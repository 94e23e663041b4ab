"""Analysis tests of the CPython toolchain choice: what a target that asks for a version or a
platform without a distribution is told (toolchains/cpython:unsupported), and what a bad value
of the toolchain's build settings (python_version, optimization) is told."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _unsupported_version_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "supported CPython versions: 3.15, 3.14, 3.13, 3.11 (built from source; 3.13 is the default)")
    asserts.expect_failure(env, "no CPython distribution for this target platform and CPython version")
    asserts.expect_failure(env, "Supported platforms: @rules_py_standalone//platforms:linux_x86_64_gnu")
    return analysistest.end(env)

unsupported_version_test = analysistest.make(
    _unsupported_version_test_impl,
    doc = "A python_version no toolchain provides fails at analysis, naming the versions and platforms that exist.",
    expect_failure = True,
)

def _free_threaded_version_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "python_version '3.14t' asks for a free-threaded CPython (PEP 703")
    asserts.expect_failure(env, "which rules_py_standalone does not support")
    asserts.expect_failure(env, "Use '3.14' (the same version with the GIL)")
    return analysistest.end(env)

free_threaded_version_test = analysistest.make(
    _free_threaded_version_test_impl,
    doc = "python_version = \"3.14t\" fails at analysis saying free-threaded CPython is not supported.",
    expect_failure = True,
    config_settings = {str(Label("//toolchains/cpython:python_version")): "3.14t"},
)

def _unknown_version_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "python_version '2.7' is not a CPython version rules_py_standalone knows; use one of: 3.10, 3.11")
    return analysistest.end(env)

unknown_version_test = analysistest.make(
    _unknown_version_test_impl,
    doc = "A python_version outside the known list fails naming it and the list.",
    expect_failure = True,
    config_settings = {str(Label("//toolchains/cpython:python_version")): "2.7"},
)

def _unknown_optimization_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "'pgo' is not a CPython build; use one of: fast, optimized.")
    return analysistest.end(env)

unknown_optimization_test = analysistest.make(
    _unknown_optimization_test_impl,
    doc = "--//toolchains/cpython:optimization=pgo fails naming the values.",
    expect_failure = True,
    config_settings = {str(Label("//toolchains/cpython:optimization")): "pgo"},
)
