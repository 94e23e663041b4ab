"""Debian packages some tests run with (dev dependency of this module).

qemu-user's statically linked qemu-aarch64 and the arm64 glibc it loads the aarch64 interpreter
with. Debian's stable pool keeps these until a point release supersedes them; then update the
version, file and sha256 from the current trixie index.

strace (and its libunwind) from Debian 12, which runs on Debian 12 and 13: the standalone
binaries' tests trace which files a binary touches.

nginx from Debian 13, the HTTP (WebDAV) cache server of the remote cache test. Its WebDAV module
is built in; it needs glibc >= 2.34, libcrypt1, libpcre2-8-0, libssl3 (3.0.0 symbols only) and
zlib1g, all present on Debian 12 and 13 (libssl3 comes with python3 and ca-certificates).
"""

_DEBIAN = "http://deb.debian.org/debian/pool/main/"

def _debian_package_impl(rctx):
    # A .deb is an ar archive holding data.tar.xz: Bazel unpacks the ar, then the tarball.
    rctx.download_and_extract(url = rctx.attr.urls, sha256 = rctx.attr.sha256, type = "deb", output = "deb")
    rctx.extract("deb/data.tar.xz")
    rctx.delete("deb")
    rctx.file("BUILD.bazel", rctx.attr.build_file_content)

_debian_package = repository_rule(
    implementation = _debian_package_impl,
    doc = "One Debian package (sha256-checked), its files unpacked at the repository root.",
    attrs = {
        "build_file_content": attr.string(mandatory = True),
        "sha256": attr.string(mandatory = True),
        "urls": attr.string_list(mandatory = True),
    },
)

_BUILD_QEMU = 'exports_files(["usr/bin/qemu-aarch64"])\n'
_BUILD_STRACE = 'exports_files(["usr/bin/strace"])\n'
_BUILD_NGINX = 'exports_files(["usr/sbin/nginx"])\n'
_BUILD_LIBUNWIND = 'filegroup(name = "libs", srcs = glob(["usr/lib/x86_64-linux-gnu/*.so*"]), visibility = ["//visibility:public"])\n'
_BUILD_SYSROOT = 'exports_files(["usr/lib/aarch64-linux-gnu/libc.so.6"])\nfilegroup(name = "sysroot", srcs = glob(["usr/**"]), visibility = ["//visibility:public"])\n'

def _deb(name, path, sha256, build_file_content):
    _debian_package(
        name = name,
        urls = [_DEBIAN + path],
        sha256 = sha256,
        build_file_content = build_file_content,
    )

def debian_test_debs():
    """Declares the test-only Debian package repositories."""
    _deb(
        "rps_test_qemu_user",
        "q/qemu/qemu-user_10.0.13+ds-0+deb13u1_amd64.deb",
        "ca6ede739327a20ae5a3498230c8a3a9a072c586e131bc6bcc1201eb1725e336",
        _BUILD_QEMU,
    )
    _deb(
        "rps_test_libc6_arm64",
        "g/glibc/libc6_2.41-12+deb13u5_arm64.deb",
        "0966fc3da1a26cc57647c68b5736f791b6e7eb498173a7993f63b6c89b4ed4f5",
        _BUILD_SYSROOT,
    )

    _deb(
        "rps_test_strace",
        "s/strace/strace_6.1-0.1_amd64.deb",
        "1942d086a6244a1a9643489d3b0aa604ac44b88991d6c69217a63a193671bd4f",
        _BUILD_STRACE,
    )
    _deb(
        "rps_test_libunwind",
        "libu/libunwind/libunwind8_1.6.2-3_amd64.deb",
        "7b297868682836e4c87be349f17e4a56bc287586e3576503e84a5cb5485ce925",
        _BUILD_LIBUNWIND,
    )

    _deb(
        "rps_test_nginx",
        "n/nginx/nginx_1.26.3-3+deb13u10_amd64.deb",
        "222f1f296cb91a67323fdca0e37c4f34a7be78d14de043f15b2f76acdd8750a9",
        _BUILD_NGINX,
    )

def _test_debs_impl(module_ctx):
    debian_test_debs()
    return module_ctx.extension_metadata(reproducible = True)

test_debs = module_extension(
    implementation = _test_debs_impl,
    doc = "Debian packages for tests: qemu-user and arm64 glibc (aarch64 smoke test), strace, nginx.",
)
