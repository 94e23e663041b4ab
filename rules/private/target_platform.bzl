"""Which entry of the platform table (toolchains/zig_versions.bzl) a rule is configured for."""

load("//toolchains:zig_versions.bzl", "ZIG_TARGETS", "target_constraints")

_CONSTRAINTS = {c: None for t in ZIG_TARGETS for c in target_constraints(t)}.keys()

TARGET_PLATFORM_ATTRS = {
    "_platform_constraints": attr.label_list(default = [Label(c) for c in _CONSTRAINTS]),
}

def target_platform(ctx):
    """The ZIG_TARGETS entry whose constraints the target platform has (the most specific one)."""
    has = {}
    for target in ctx.attr._platform_constraints:
        info = target[platform_common.ConstraintValueInfo]
        has[str(target.label)] = ctx.target_platform_has_constraint(info)
    best = None
    for target in ZIG_TARGETS:
        constraints = [str(Label(c)) for c in target_constraints(target)]
        if all([has[c] for c in constraints]) and (best == None or len(constraints) > best[0]):
            best = (len(constraints), target)
    if best == None:
        fail("%s: the target platform is none of rules_py_standalone's platforms (%s); build with " % (
            ctx.label,
            ", ".join([t.name for t in ZIG_TARGETS]),
        ) + "--platforms=@rules_py_standalone//platforms:<name>")
    return best[1]

def is_musl(ctx):
    return target_platform(ctx).libc == "musl"

def audit_policy(ctx):
    """tools/audit policy name of the target platform."""
    return target_platform(ctx).audit_policy
