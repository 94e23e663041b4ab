"""Declares one repository per pinned wheel; shared by the module extension and WORKSPACE."""

load("//toolchains:pypi_wheels.bzl", "PYPI_WHEELS")
load(":pypi_wheel_repository.bzl", "pypi_wheel_repository")

def pypi_wheels_repos():
    """Declares `rps_pypi_<name>` for every entry of PYPI_WHEELS."""
    for name, wheel in PYPI_WHEELS.items():
        pypi_wheel_repository(
            name = "rps_pypi_" + name,
            urls = [wheel.url],
            sha256 = wheel.sha256,
            more_wheels = getattr(wheel, "more_wheels", {}),
            deps = ["@rps_pypi_{}//:pkg".format(dep) for dep in wheel.deps],
        )
