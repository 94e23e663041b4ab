"""The configurations a PyPI wheel is chosen for: each target platform x each CPython built here.

Derived from the platform table (toolchains/platforms.bzl), the versions built here
(toolchains/python_versions.bzl) and their source pins (toolchains/cpython_sources.bzl), so
adding a platform or a version is not an edit here.
"""

load("//toolchains:cpython_sources.bzl", "CPYTHON_SOURCES")
load("//toolchains:platforms.bzl", "PLATFORMS", "platform_constraints")
load("//toolchains:python_versions.bzl", "BUILT_PYTHON_VERSIONS", "version_key")

def pypi_targets():
    """[struct(key, platform, cpu, libc, libc_version, constraints, python, python_xy)] for every configuration."""
    found = []
    for built in BUILT_PYTHON_VERSIONS:
        xy = built.version
        full = CPYTHON_SOURCES["cpython_" + version_key(xy)].version
        for target in PLATFORMS:
            found.append(struct(
                key = "%s_%s" % (target.name, version_key(xy)),
                platform = target.name,
                cpu = target.cpu,
                libc = target.libc,
                libc_version = target.libc_version,
                constraints = platform_constraints(target),
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
