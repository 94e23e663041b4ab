"""`platform_binary`, `platform_directory` and `platform_files`: targets built for another target platform (a configuration transition)."""

def _platforms_transition_impl(settings, attr):
    return {"//command_line_option:platforms": str(attr.platform)}

_platforms_transition = transition(
    implementation = _platforms_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

# The machine that runs the build, as a target platform: programs built for it (a Python to
# cross-compile CPython with) share their configuration with platform_directory(platform =
# linux_x86_64_gnu), so one build serves both (an exec-configuration build would be another).
BUILD_MACHINE_PLATFORM = Label("//platforms:linux_x86_64_gnu")

def _build_machine_transition_impl(settings, attr):
    return {"//command_line_option:platforms": str(BUILD_MACHINE_PLATFORM)}

build_machine_transition = transition(
    implementation = _build_machine_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _platform_binary_impl(ctx):
    binary = ctx.attr.binary[0][DefaultInfo].files_to_run.executable
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = out, target_file = binary)
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles([out]))]

platform_binary = rule(
    implementation = _platform_binary_impl,
    doc = "Builds `binary` for `platform` and exposes it under this target's name.",
    attrs = {
        "binary": attr.label(
            mandatory = True,
            cfg = _platforms_transition,
            executable = True,
            doc = "The executable to build for `platform`.",
        ),
        "platform": attr.label(mandatory = True, doc = "A platform(), e.g. @rules_py_standalone//platforms:linux_x86_64_musl."),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)

def _platform_directory_impl(ctx):
    # A path of its own: the same target built for two platforms would otherwise have one
    # runfiles path for both.
    source = ctx.attr.src[0][DefaultInfo].files.to_list()
    if len(source) != 1 or not source[0].is_directory:
        fail("platform_directory: %s must produce exactly one directory" % ctx.attr.src[0].label)
    out = ctx.actions.declare_directory(ctx.label.name)
    ctx.actions.symlink(output = out, target_file = source[0])
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles([out]))]

platform_directory = rule(
    implementation = _platform_directory_impl,
    doc = "The one output directory of `src`, built for `platform`, under this target's name.",
    attrs = {
        "platform": attr.label(mandatory = True, doc = "A platform(), e.g. @rules_py_standalone//platforms:linux_aarch64_gnu."),
        "src": attr.label(mandatory = True, cfg = _platforms_transition, doc = "A target whose output is one directory."),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)

def _platform_files_impl(ctx):
    outs = []
    for source in [f for src in ctx.attr.srcs for f in src[DefaultInfo].files.to_list()]:
        out = ctx.actions.declare_file(ctx.label.name + "/" + source.basename)
        ctx.actions.symlink(output = out, target_file = source)
        outs.append(out)
    return [DefaultInfo(files = depset(outs), runfiles = ctx.runfiles(outs))]

platform_files = rule(
    implementation = _platform_files_impl,
    doc = "The files of `srcs` (e.g. the wheels a PyPI package chose), built for `platform`, under this target's name.",
    attrs = {
        "platform": attr.label(mandatory = True, doc = "A platform(), e.g. @rules_py_standalone//platforms:linux_x86_64_gnu_2_28."),
        "srcs": attr.label_list(mandatory = True, cfg = _platforms_transition),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)
