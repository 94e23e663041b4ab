"""`pytest_test`: a py_test that runs its sources under the pinned pytest."""

load("@rules_python//python:defs.bzl", "py_test")

def pytest_test(name, srcs, deps = [], args = [], **kwargs):
    """Runs pytest on `srcs` as one Bazel test.

    Args:
      name: the test's name.
      srcs: the test modules (test_*.py).
      deps: py_library targets the tests import.
      args: extra pytest arguments.
      **kwargs: passed on to py_test (data, tags, size, ...).
    """
    py_test(
        name = name,
        srcs = srcs + ["//tests:pytest_main.py"],
        main = "//tests:pytest_main.py",
        args = args + ["$(rootpath {})".format(src) for src in srcs],
        deps = deps + ["@rps_pypi_pytest//:pkg"],
        **kwargs
    )
