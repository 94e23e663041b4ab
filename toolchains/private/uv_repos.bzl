"""Declares one uv repository per exec platform; shared by the module extension and WORKSPACE."""

load("//toolchains:uv_versions.bzl", "UV_VERSION", "UV_WHEELS")

def _uv_repository_impl(rctx):
    rctx.download_and_extract(url = rctx.attr.urls, sha256 = rctx.attr.sha256, type = "zip", output = "wheel")
    rctx.symlink("wheel/uv-%s.data/scripts/uv" % rctx.attr.version, "uv")
    rctx.file("BUILD.bazel", 'exports_files(["uv"], visibility = ["//visibility:public"])\n')

uv_repository = repository_rule(
    implementation = _uv_repository_impl,
    doc = "The uv executable from its PyPI wheel: `@<name>//:uv`.",
    attrs = {
        "sha256": attr.string(mandatory = True),
        "urls": attr.string_list(mandatory = True),
        "version": attr.string(mandatory = True),
    },
)

def uv_repos():
    """Declares `rps_uv_<exec platform>` for every entry of UV_WHEELS (fetched only when used)."""
    for exec_name, wheel in UV_WHEELS.items():
        uv_repository(name = "rps_uv_" + exec_name, urls = [wheel.url], sha256 = wheel.sha256, version = UV_VERSION)
