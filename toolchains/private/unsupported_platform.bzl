"""A last-resort toolchain: resolved only when no real one matches, it fails naming the options."""

def _unsupported_platform_toolchain_impl(ctx):
    fail(("rules_py_standalone has no {what} for this target platform and CPython version. Supported platforms: {platforms}. " +
          "Pass one with --platforms (e.g. --platforms=@rules_py_standalone//platforms:linux_x86_64_gnu); " +
          "supported CPython versions: {versions} (py_standalone_binary(python_version = ...)).").format(
        what = ctx.attr.what,
        platforms = ", ".join(ctx.attr.platforms),
        versions = ", ".join(ctx.attr.versions),
    ))

unsupported_platform_toolchain = rule(
    implementation = _unsupported_platform_toolchain_impl,
    doc = "Fails at analysis with a message listing the supported platforms and versions.",
    attrs = {
        "platforms": attr.string_list(mandatory = True, doc = "The platforms that have a toolchain, as labels."),
        "versions": attr.string_list(doc = "The CPython versions that have a toolchain, as phrases."),
        "what": attr.string(mandatory = True, doc = "What is missing, e.g. \"CPython distribution\"."),
    },
)
