"""Declares one repository per pinned wheel; shared by the module extension and WORKSPACE."""

load("//toolchains:pypi_wheels.bzl", "DEV_PYPI_WHEELS", "PYPI_WHEELS")
load(":pypi_wheel_repository.bzl", "pypi_wheel_repository")

def pypi_wheels_repos(wheels = PYPI_WHEELS):
    """Declares `rps_pypi_<name>` for every entry of `wheels` (default: the tools' PYPI_WHEELS)."""
    for name, wheel in wheels.items():
        pypi_wheel_repository(
            name = "rps_pypi_" + name,
            urls = [wheel.url],
            sha256 = wheel.sha256,
            more_wheels = getattr(wheel, "more_wheels", {}),
            deps = ["@rps_pypi_{}//:pkg".format(dep) for dep in wheel.deps],
        )

def dev_pypi_wheels_repos():
    """Declares the wheels of this module's own tests and benchmarks (DEV_PYPI_WHEELS)."""
    pypi_wheels_repos(DEV_PYPI_WHEELS)
