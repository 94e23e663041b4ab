"""The configurations a PyPI wheel is chosen for: each target platform x each CPython built here.

Derived from the platform table (toolchains/zig_versions.bzl ZIG_TARGETS) and the CPython source
pins (toolchains/cpython_sources.bzl), so adding a platform or a version is not an edit here.
"""

load("//toolchains:cpython_sources.bzl", "CPYTHON_SOURCES")
load("//toolchains:zig_versions.bzl", "ZIG_TARGETS", "target_constraints")

# The musl that zig links into musl targets (zig 0.17 bundles musl 1.2.5): musllinux_1_2.
_MUSL_VERSION = "1.2"


def pypi_targets():
    """[struct(key, platform, cpu, libc, libc_version, constraints, python, python_xy)] for every configuration."""
    found = []
    for key in sorted(CPYTHON_SOURCES):
        if not key.startswith("cpython_"):
            continue
        full = CPYTHON_SOURCES[key].version
        xy = ".".join(full.split(".")[:2])
        for target in ZIG_TARGETS:
            found.append(struct(
                key = "%s_%s" % (target.name, xy.replace(".", "_")),
                platform = target.name,
                cpu = target.cpu,
                libc = target.libc,
                libc_version = target.glibc or _MUSL_VERSION,
                constraints = target_constraints(target),
                python = full,
                python_xy = xy,
            ))
    return found

def pypi_targets_json():
    return json.encode([
        {"platform": t.platform, "cpu": t.cpu, "libc": t.libc, "libc_version": t.libc_version, "python": t.python}
        for t in pypi_targets()
    ])

def pypi_oldest_python():
    """X.Y of the oldest CPython built here: locks resolve from it up."""
    versions = sorted([t.python_xy for t in pypi_targets()], key = lambda v: [int(p) for p in v.split(".")])
    return versions[0]
