"""Analysis tests of the CPython toolchain choice: what a target that asks for a version or a
platform without a distribution is told (toolchains/cpython:unsupported)."""

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
