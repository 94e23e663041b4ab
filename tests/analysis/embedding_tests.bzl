"""Analysis tests of the embedding rules' failure messages (rules/private/py_standalone_library.bzl)."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _shared_library_refuses_compiled_wheels_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "the shared object exports only the embedding API, so the extension modules of markupsafe")
    asserts.expect_failure(env, "use py_standalone_library (linked into the program, which then exports the C API)")
    return analysistest.end(env)

shared_library_refuses_compiled_wheels_test = analysistest.make(
    _shared_library_refuses_compiled_wheels_test_impl,
    doc = "A shared object with wheels that have extension modules fails at analysis, naming them and the alternative.",
    expect_failure = True,
)
