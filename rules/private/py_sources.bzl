"""The Python files of py_library targets and their deps, as plain files.

For the tools that run as scripts on a CPython distribution's own interpreter (tools/compile,
tools/pack): their files come from their py_library targets, so a new module of theirs needs no
second list.
"""

load("@rules_python//python:defs.bzl", "PyInfo")

def _py_sources_impl(ctx):
    return [DefaultInfo(files = depset(transitive = [dep[PyInfo].transitive_sources for dep in ctx.attr.deps]))]

py_sources = rule(
    implementation = _py_sources_impl,
    doc = "The transitive Python sources of `deps`.",
    attrs = {
        "deps": attr.label_list(providers = [PyInfo], mandatory = True),
    },
)
