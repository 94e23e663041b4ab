"""Which entry of the platform table (toolchains/platforms.bzl) a rule is configured for.

For rules that resolve no CPython toolchain (pypi_package); the binary rules take the same
facts from the toolchain (PyStandaloneToolchainInfo.platform)."""

load("//toolchains:platforms.bzl", "PLATFORMS", "platform_constraints")

_CONSTRAINTS = {c: None for p in PLATFORMS for c in platform_constraints(p)}.keys()

TARGET_PLATFORM_ATTRS = {
    "_platform_constraints": attr.label_list(default = [Label(c) for c in _CONSTRAINTS]),
}

def target_platform(ctx):
    """The PLATFORMS entry whose constraints the target platform has (the most specific one)."""
    has = {}
    for target in ctx.attr._platform_constraints:
        info = target[platform_common.ConstraintValueInfo]
        has[str(target.label)] = ctx.target_platform_has_constraint(info)
    best = None
    for platform in PLATFORMS:
        constraints = [str(Label(c)) for c in platform_constraints(platform)]
        if all([has[c] for c in constraints]) and (best == None or len(constraints) > best[0]):
            best = (len(constraints), platform)
    if best == None:
        fail("%s: the target platform is none of rules_py_standalone's platforms (%s); build with " % (
            ctx.label,
            ", ".join([p.name for p in PLATFORMS]),
        ) + "--platforms=@rules_py_standalone//platforms:<name>")
    return best[1]
