"""WORKSPACE-mode entry points. Under bzlmod, MODULE.bazel does all of this."""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")
load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//rules/private/pypi:repositories.bzl", "pypi_lock_repository")
load("//toolchains/private:cpython_sources_repos.bzl", "cpython_sources_repos")
load("//toolchains/private:pypi_wheels_repos.bzl", "pypi_wheels_repos")
load("//toolchains/private:python_build_standalone_repository.bzl", _python_build_standalone_archive = "python_build_standalone_archive")
load("//toolchains/private:uv_repos.bzl", "uv_repos")
load("//toolchains/private:zig_sdk_repos.bzl", "zig_sdk_repos")

def rules_py_standalone_dependencies():
    """Declares the repositories rules_py_standalone needs. Call it once from WORKSPACE."""

    # Bazel 7's WORKSPACE suffix already declares these; `maybe` keeps a user's own choice.
    maybe(
        http_archive,
        name = "bazel_skylib",
        urls = ["https://github.com/bazelbuild/bazel-skylib/releases/download/1.7.1/bazel-skylib-1.7.1.tar.gz"],
        sha256 = "bc283cdfcd526a52c3201279cda4bc298652efa898b10b4db0837dc51652756f",
    )
    maybe(
        http_archive,
        name = "platforms",
        urls = ["https://github.com/bazelbuild/platforms/releases/download/0.0.10/platforms-0.0.10.tar.gz"],
        sha256 = "218efe8ee736d26a3572663b374a253c012b716d8af0c07e842e82f238a0a7ee",
    )
    pypi_wheels_repos()
    uv_repos()
    zig_sdk_repos()
    cpython_sources_repos()

def rules_py_standalone_toolchains():
    """Registers the hermetic C/C++ toolchains and the CPython distributions. Call it from
    WORKSPACE after the dependencies."""
    native.register_toolchains(
        "@rules_py_standalone//toolchains/zig:all",
        # The CPython toolchains, then unsupported_toolchain (name order: MODULE.bazel).
        "@rules_py_standalone//toolchains/cpython:all",
    )

def python_build_standalone_archive(**kwargs):
    """A prebuilt python-build-standalone 'full' archive as a toolchain (WORKSPACE mode).

    Call it before rules_py_standalone_toolchains() and register `@<name>//:toolchain` first:

        python_build_standalone_archive(name = "pbs_3_12", urls = [...], sha256 = "...")
        register_toolchains("@pbs_3_12//:toolchain")
    """
    _python_build_standalone_archive(**kwargs)

def pypi_lock(name, requirements = None, lock = None, uv_lock = None, index_url = None, requirements_in = None):
    """PyPI packages from a lock file (WORKSPACE mode; docs/pypi.md). Then, in WORKSPACE:

        load("@<name>//:repositories.bzl", "pypi_repositories")
        pypi_repositories()

    and `@<name>//<package>` goes in a binary's deps.

    Args:
      name: the hub repository's name.
      requirements: a hashed requirements file.
      lock: a PEP 751 pylock.toml (or a uv.lock).
      uv_lock: a uv.lock.
      index_url: index for the files of a hashed requirements file (default: pip's configuration, else PyPI).
      requirements_in: the input the lock was made from by tools/lock; a stale lock fails the build.
    """
    pypi_lock_repository(name = name, requirements = requirements, lock = lock, uv_lock = uv_lock, index_url = index_url, requirements_in = requirements_in)
