"""Public API of rules_py_standalone.

    load("@rules_py_standalone//rules:defs.bzl", "py_standalone_binary", "py_standalone_test")

    py_standalone_binary(
        name = "app",
        main = "app.py",
        srcs = ["app.py"],
        deps = ["//lib:py_library_target"],
    )

`bazel build //pkg:app` gives one executable file, `bazel run //pkg:app -- args` runs it. The
module report of what was packed, and why, is the `module_report` output group
(`bazel build //pkg:app --output_groups=module_report`); what each part costs in the
executable is the `size_report` output group (`--output_groups=+size_report`: app.size.svg, a
treemap, and app.size.txt; docs/size_report.md). Attributes: see
rules/private/py_standalone_binary.bzl or docs/rules.md.

`py_standalone_library` (for a cc_binary's deps) and `py_standalone_shared_library` (one .so)
embed the same interpreter in a C or C++ program through rules_py_standalone/embed.h:
docs/embedding.md.
"""

load(
    "//rules/private:py_standalone_binary.bzl",
    _py_standalone_binary = "py_standalone_binary",
    _py_standalone_test = "py_standalone_test",
)
load(
    "//rules/private:py_standalone_library.bzl",
    _py_standalone_library = "py_standalone_library",
    _py_standalone_shared_library = "py_standalone_shared_library",
)

py_standalone_binary = _py_standalone_binary
py_standalone_test = _py_standalone_test
py_standalone_library = _py_standalone_library
py_standalone_shared_library = _py_standalone_shared_library
