"""A package with data files and installed-distribution metadata, like a wheel from PyPI."""

from importlib import metadata, resources


def greeting() -> str:
    return resources.files(__name__).joinpath("data/greeting.txt").read_text(encoding="utf-8").strip()


def version() -> str:
    return metadata.version("demo-pkg")
