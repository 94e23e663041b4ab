"""The pinned zig compiler, 0.17.1: PyPI's `ziglang` wheel (a zip holding `ziglang/zig` and its lib/)."""

_FILES = "https://files.pythonhosted.org/packages"

# Wheels by exec platform: the compiler runs where the build runs.
ZIG_WHEELS = {
    "linux_x86_64": struct(
        url = _FILES + "/59/e3/2a34676370a11c36b7cd04ffb2439c1089c0530cf4b01408c77cf7f8d9c3/ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
        sha256 = "ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54",
        exec_constraints = ["@platforms//os:linux", "@platforms//cpu:x86_64"],
    ),
    "linux_aarch64": struct(
        url = _FILES + "/91/72/bb7c4f098ba3e535fa2ebefd9f26327ba63fb0672562959255cb5dd37aff/ziglang-0.17.1-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
        sha256 = "b7c5f02fccd40f89b999ee16a1f5ddced56e6182370f8affe494bcf8a28cf07e",
        exec_constraints = ["@platforms//os:linux", "@platforms//cpu:aarch64"],
    ),
}

# The target platforms (one cc toolchain each per exec platform) are in toolchains/platforms.bzl.
