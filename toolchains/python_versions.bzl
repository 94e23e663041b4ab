"""The CPython versions: the one list the toolchains, the python_version flag, the registrations
and the PyPI extension's wheel configurations come from (docs/toolchain.md, "Adding a version").

Fields:
  version: "X.Y".
  built_here: built from its pinned source (toolchains/cpython_sources.bzl `cpython_X_Y`);
    otherwise it comes only from a python-build-standalone archive a user registers.
  in_all: built by //... (False leaves the distribution and its toolchain data `manual`: for a
    version whose pinned source cannot be downloaded here yet; it is still registered).
"""

PYTHON_VERSIONS = [
    struct(version = "3.10", built_here = False, in_all = False),
    struct(version = "3.11", built_here = True, in_all = True),
    struct(version = "3.12", built_here = False, in_all = False),
    struct(version = "3.13", built_here = True, in_all = True),
    # 3.14 and 3.15: Debian's pool lacks their orig tarballs today (docs/toolchain.md).
    struct(version = "3.14", built_here = True, in_all = False),
    struct(version = "3.15", built_here = True, in_all = False),
]

# The CPython of every binary that does not set python_version.
DEFAULT_PYTHON_VERSION = "3.13"

BUILT_PYTHON_VERSIONS = [v for v in PYTHON_VERSIONS if v.built_here]

def version_key(version):
    """"3.13" -> "3_13": the suffix of the version's target and repository names."""
    return version.replace(".", "_")

def version_at_least(version, oldest):
    """Whether "X.Y" `version` is `oldest` or newer."""
    return [int(p) for p in version.split(".")] >= [int(p) for p in oldest.split(".")]

def version_tags(version):
    """Tags of a target that needs `version`'s distribution: `manual` unless //... builds it."""
    for v in PYTHON_VERSIONS:
        if v.version == version:
            return [] if v.in_all else ["manual"]
    fail("%s is not in PYTHON_VERSIONS (toolchains/python_versions.bzl)" % version)
