"""The build settings of the CPython toolchain: `python_version_flag`, `cpython_optimization_flag`,
and `cpython_optimized_directory` / `cpython_optimized_binary` (a target built with the other
optimization, for tests and benchmarks)."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")

def _flag_name(label):
    # How users spell the flag, also from another module (str(label) would say "@@//...").
    return "@rules_py_standalone//%s:%s" % (label.package, label.name)

def _python_version_flag_impl(ctx):
    value = ctx.build_setting_value
    if value not in ctx.attr.values:
        if value.endswith("t") and value[:-1] in ctx.attr.values:
            fail(("python_version '{value}' asks for a free-threaded CPython (PEP 703, built with " +
                  "--disable-gil), which rules_py_standalone does not support: no free-threaded " +
                  "distribution is built or accepted. Use '{gil}' (the same version with the GIL) in " +
                  "py_standalone_binary(python_version = ...) or --{label}.").format(
                value = value,
                gil = value[:-1],
                label = _flag_name(ctx.label),
            ))
        fail("python_version '{value}' is not a CPython version rules_py_standalone knows; use one of: {values} (--{label}).".format(
            value = value,
            values = ", ".join(ctx.attr.values),
            label = _flag_name(ctx.label),
        ))
    return [BuildSettingInfo(value = value)]

python_version_flag = rule(
    implementation = _python_version_flag_impl,
    build_setting = config.string(flag = True),
    doc = "The CPython minor version (\"X.Y\") of standalone binaries. A value outside `values` " +
          "fails naming it; a free-threaded request (\"3.14t\") fails saying it is not supported.",
    attrs = {
        "values": attr.string_list(mandatory = True, doc = "The versions a toolchain may provide."),
    },
)

# fast: today's build (-O2, no LTO, no PGO). optimized: ThinLTO (docs/toolchain.md, "Optimized
# builds": why there is no PGO).
OPTIMIZATIONS = ["fast", "optimized"]
DEFAULT_OPTIMIZATION = "fast"

def _cpython_optimization_flag_impl(ctx):
    value = ctx.build_setting_value
    if value not in OPTIMIZATIONS:
        fail("--{label}: '{value}' is not a CPython build; use one of: {values}.".format(
            label = _flag_name(ctx.label),
            value = value,
            values = ", ".join(OPTIMIZATIONS),
        ))
    return [BuildSettingInfo(value = value)]

cpython_optimization_flag = rule(
    implementation = _cpython_optimization_flag_impl,
    build_setting = config.string(flag = True),
    doc = "How the CPython distribution is built: `fast` (the default) or `optimized`.",
)

_OPTIMIZATION_FLAG = Label("//toolchains/cpython:optimization")

def _optimized_transition_impl(settings, attr):
    return {str(_OPTIMIZATION_FLAG): attr.optimization}

_optimized_transition = transition(
    implementation = _optimized_transition_impl,
    inputs = [],
    outputs = [str(_OPTIMIZATION_FLAG)],
)

def _symlink_one(ctx, directory):
    files = ctx.attr.src[0][DefaultInfo].files.to_list()
    if len(files) != 1 or files[0].is_directory != directory:
        fail("%s must produce exactly one %s" % (ctx.attr.src[0].label, "directory" if directory else "file"))
    out = ctx.actions.declare_directory(ctx.label.name) if directory else ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = out, target_file = files[0], is_executable = not directory)
    return out

def _cpython_optimized_directory_impl(ctx):
    out = _symlink_one(ctx, directory = True)
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles([out]))]

def _cpython_optimized_binary_impl(ctx):
    out = _symlink_one(ctx, directory = False)
    return [DefaultInfo(files = depset([out]), executable = out, runfiles = ctx.runfiles([out]))]

_ATTRS = {
    "optimization": attr.string(default = "optimized", values = OPTIMIZATIONS, doc = "The value of //toolchains/cpython:optimization to build `src` with."),
    "src": attr.label(mandatory = True, cfg = _optimized_transition, doc = "The target to build with `optimization`."),
    "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
}

cpython_optimized_directory = rule(
    implementation = _cpython_optimized_directory_impl,
    doc = "The one output directory of `src` (a distribution), built with `optimization`.",
    attrs = _ATTRS,
)

cpython_optimized_binary = rule(
    implementation = _cpython_optimized_binary_impl,
    doc = "The executable `src` (a py_standalone_binary), built against the CPython of `optimization`.",
    attrs = _ATTRS,
    executable = True,
)
