"""`exec_files`: files built for the exec platform, as a test's data (tests run what the build's
actions run: the same artifacts, not a second build in the target configuration)."""

def _exec_files_impl(ctx):
    files = depset(transitive = [src[DefaultInfo].files for src in ctx.attr.srcs])
    return [DefaultInfo(files = files, runfiles = ctx.runfiles(transitive_files = files))]

exec_files = rule(
    implementation = _exec_files_impl,
    attrs = {"srcs": attr.label_list(cfg = "exec", mandatory = True)},
)
