"""`platform_binary`: an executable built for another target platform (a configuration transition)."""

def _platforms_transition_impl(settings, attr):
    return {"//command_line_option:platforms": str(attr.platform)}

_platforms_transition = transition(
    implementation = _platforms_transition_impl,
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
