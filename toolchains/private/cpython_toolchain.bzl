"""`cpython_toolchain`: a CPython distribution built here, declared as a py_standalone toolchain."""

load("//rules/private:platform_transition.bzl", "platform_directory")
load("//toolchains:zig_versions.bzl", "ZIG_TARGETS")
load(":py_standalone_toolchain.bzl", "py_standalone_toolchain")

def cpython_toolchain(name, distribution, version, tags = []):
    """Declares `<name>` (the toolchain's data) and `<name>_toolchain` (to register).

    Args:
      name: target name prefix, e.g. "cpython_3_13".
      distribution: label of the cpython_build target.
      version: "X.Y"; the toolchain applies when the python_version flag has this value.
      tags: tags of the toolchain's data target (["manual"] keeps it, and so its distribution,
        out of //...); the registered toolchain() is unaffected.
    """

    # Bytecode is compiled on the build machine with the embedded version's own interpreter:
    # for targets the build machine can run (x86_64, glibc or static musl) the distribution
    # itself, else the same version built for x86_64 glibc.
    platform_directory(
        name = name + "_build_interpreter",
        src = distribution,
        platform = "//platforms:linux_x86_64_gnu",
        # Built only when an aarch64 binary needs it, not by //... (another CPython build).
        tags = ["manual"],
    )
    # A platform with a newer glibc floor (linux_x86_64_gnu_2_28) embeds the 2.17 build, which
    # runs there as well: one CPython build serves both, only the link and the wheels differ.
    newer_glibc = {"//platforms:is_" + t.name: ":" + name + "_build_interpreter" for t in ZIG_TARGETS if t.glibc and t.glibc != "2.17"}
    py_standalone_toolchain(
        name = name,
        build_interpreter = select(dict(newer_glibc, **{
            "@platforms//cpu:x86_64": distribution,
            "//conditions:default": ":" + name + "_build_interpreter",
        })),
        distribution = select(dict(newer_glibc, **{"//conditions:default": distribution})),
        machine = select({
            "@platforms//cpu:aarch64": "aarch64",
            "//conditions:default": "x86_64",
        }),
        tags = tags,
        version = version,
    )
    native.toolchain(
        name = name + "_toolchain",
        target_compatible_with = ["@platforms//os:linux"],
        target_settings = [":python_" + version.replace(".", "_")],
        toolchain = ":" + name,
        toolchain_type = ":toolchain_type",
    )
