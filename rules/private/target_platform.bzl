"""What a rule asks of its target platform: the audit policy, the C library."""

TARGET_PLATFORM_ATTRS = {
    "_aarch64": attr.label(default = "@platforms//cpu:aarch64"),
    "_musl": attr.label(default = "//platforms:musl"),
}

def is_musl(ctx):
    return ctx.target_platform_has_constraint(ctx.attr._musl[platform_common.ConstraintValueInfo])

def audit_policy(ctx):
    """tools/audit policy name of the target platform (linux_<cpu>_<libc>)."""
    cpu = "aarch64" if ctx.target_platform_has_constraint(ctx.attr._aarch64[platform_common.ConstraintValueInfo]) else "x86_64"
    return "linux_{}_{}".format(cpu, "musl" if is_musl(ctx) else "gnu")
