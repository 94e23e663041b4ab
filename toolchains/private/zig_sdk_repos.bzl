"""Declares one zig repository per exec platform; shared by the module extension and WORKSPACE."""

load("//toolchains:zig_versions.bzl", "ZIG_WHEELS")
load(":zig_sdk_repository.bzl", "zig_sdk_repository")

def zig_sdk_repos():
    """Declares `rps_zig_sdk_<exec platform>` for every entry of ZIG_WHEELS."""
    for exec_name, wheel in ZIG_WHEELS.items():
        zig_sdk_repository(
            name = "rps_zig_sdk_" + exec_name,
            urls = [wheel.url],
            sha256 = wheel.sha256,
        )
