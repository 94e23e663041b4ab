"""`cpython_toolchain`: a CPython distribution built here, declared as a py_standalone toolchain."""

load("//rules/private:platform_transition.bzl", "platform_directory")
load("//toolchains:platforms.bzl", "BUILD_MACHINE_PLATFORM", "platform_select")
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
    # for targets the build machine can run the distribution itself, else the same version
    # built for the build machine.
    platform_directory(
        name = name + "_build_interpreter",
        src = distribution,
        platform = "//platforms:" + BUILD_MACHINE_PLATFORM,
        # Built only when another platform needs it, not by //... (another CPython build).
        tags = ["manual"],
    )
    build_machine_build = ":" + name + "_build_interpreter"

    # A platform with `cpython_of` (linux_x86_64_gnu_2_28) embeds that platform's build, which
    # runs there as well: one CPython build serves both, only the link and the wheels differ.
    def _own_or_build_machine(platform, runs):
        if platform.cpython_of:
            if platform.cpython_of != BUILD_MACHINE_PLATFORM:
                fail("%s: cpython_of must be %s (the only build platform_directory makes here)" % (platform.name, BUILD_MACHINE_PLATFORM))
            return build_machine_build
        return distribution if runs else build_machine_build

    # A Linux platform outside the table: the toolchain fails naming the supported platforms.
    outside = "//conditions:default"
    py_standalone_toolchain(
        name = name,
        build_interpreter = select(dict(platform_select(lambda p: _own_or_build_machine(p, p.runs_on_build_machine)), **{outside: build_machine_build})),
        distribution = select(dict(platform_select(lambda p: _own_or_build_machine(p, True)), **{outside: distribution})),
        platform = select(dict(platform_select(lambda p: p.name), **{outside: ""})),
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
