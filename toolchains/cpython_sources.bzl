"""Pinned source archives of the CPython distribution and of what it links.

Each entry lists its URLs in order (upstream first, Debian's pool copy of the same file after
it; Bazel's downloader falls through to the next URL when one fails) and the one sha256 all of
them must match. Where Debian repacks a tarball ("dfsg"), the bytes differ from upstream's, so
only the Debian URL can match the pin. Repositories are named `rps_src_<key>`.
"""

_DEBIAN = "http://deb.debian.org/debian/pool/main/"

CPYTHON_SOURCES = {
    "bzip2": struct(
        version = "1.0.8",
        urls = [
            "https://sourceware.org/pub/bzip2/bzip2-1.0.8.tar.gz",
            _DEBIAN + "b/bzip2/bzip2_1.0.8.orig.tar.gz",
        ],
        sha256 = "ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269",
    ),
    "cpython_3_11": struct(
        version = "3.11.2",
        urls = [
            "https://www.python.org/ftp/python/3.11.2/Python-3.11.2.tgz",
            _DEBIAN + "p/python3.11/python3.11_3.11.2.orig.tar.gz",
        ],
        sha256 = "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849",
    ),
    "cpython_3_13": struct(
        version = "3.13.15",
        urls = [
            "https://www.python.org/ftp/python/3.13.15/Python-3.13.15.tar.xz",
            _DEBIAN + "p/python3.13/python3.13_3.13.15.orig.tar.xz",
        ],
        sha256 = "1e66a7945a48390ee4c2a4268a0e4185884059a13c4aab6d148aa208deea4a76",
    ),
    # 3.14 and 3.15: Debian testing's (forky) versions, sha256 from its signed Sources index.
    "cpython_3_14": struct(
        version = "3.14.8",
        urls = [
            "https://www.python.org/ftp/python/3.14.8/Python-3.14.8.tar.xz",
            _DEBIAN + "p/python3.14/python3.14_3.14.8.orig.tar.xz",
        ],
        sha256 = "c2215904f02b175596dc49351585104f4bc20341e1c47378b26a2c274360ce73",
    ),
    "cpython_3_15": struct(
        version = "3.15.0",
        urls = [
            "https://www.python.org/ftp/python/3.15.0/Python-3.15.0.tar.xz",
            _DEBIAN + "p/python3.15/python3.15_3.15.0.orig.tar.xz",
        ],
        sha256 = "ba4bed1ba346b916890b76d9e320451420aa69f6408997d33c66482eeae3d575",
    ),
    "libffi": struct(
        version = "3.4.4",
        urls = [
            "https://github.com/libffi/libffi/releases/download/v3.4.4/libffi-3.4.4.tar.gz",
            _DEBIAN + "libf/libffi/libffi_3.4.4.orig.tar.gz",
        ],
        sha256 = "d66c56ad259a82cf2a9dfc408b32bf5da52371500b84745f7fb8b645712df676",
    ),
    # GNU make, built first so no host make is needed (Debian's tarball is repacked: dfsg).
    "make": struct(
        version = "4.4.1",
        urls = [_DEBIAN + "m/make-dfsg/make-dfsg_4.4.1.orig.tar.xz"],
        sha256 = "3b16b00ea1079af9f8096bbc71ff7cc00c249fc6a862003da3c42308a0adb0fe",
    ),
    "openssl": struct(
        version = "3.0.20",
        urls = [
            "https://github.com/openssl/openssl/releases/download/openssl-3.0.20/openssl-3.0.20.tar.gz",
            _DEBIAN + "o/openssl/openssl_3.0.20.orig.tar.gz",
        ],
        sha256 = "c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f",
    ),
    # Build-time only: perl runs OpenSSL's Configure and its code generators.
    "perl": struct(
        version = "5.40.1",
        urls = [
            "https://www.cpan.org/src/5.0/perl-5.40.1.tar.xz",
            _DEBIAN + "p/perl/perl_5.40.1.orig.tar.xz",
        ],
        sha256 = "dfa20c2eef2b4af133525610bbb65dd13777ecf998c9c5b1ccf0d308e732ee3f",
    ),
    # SQLite's source tree (Debian repacks the upstream tree; there is no upstream file with
    # these bytes). Building it generates the amalgamation with tclsh, so Tcl comes too.
    "sqlite": struct(
        version = "3.46.1",
        urls = [_DEBIAN + "s/sqlite3/sqlite3_3.46.1.orig.tar.xz"],
        sha256 = "d0cdd2ece271b29e7ce18095745d892517ee26d0f270065b3a25c2e9eb11639c",
    ),
    # Build-time only: tclsh runs SQLite's code generators (Debian's tarball is repacked: dfsg).
    "tcl": struct(
        version = "8.6.16",
        urls = [_DEBIAN + "t/tcl8.6/tcl8.6_8.6.16+dfsg.orig.tar.gz"],
        sha256 = "c3b6a803ea2e55cafa8b4b52546a6b3bb3722927dcf4bebe3a6549fd353702ea",
    ),
    "util_linux": struct(
        version = "2.41.5",
        urls = [
            "https://www.kernel.org/pub/linux/utils/util-linux/v2.41/util-linux-2.41.5.tar.xz",
            _DEBIAN + "u/util-linux/util-linux_2.41.5.orig.tar.xz",
        ],
        sha256 = "f586e35d320ff537aab3ffeca37e9ecd482ccbe013590db4429a414d8aa6a728",
    ),
    "xz": struct(
        version = "5.8.1",
        urls = [
            "https://github.com/tukaani-project/xz/releases/download/v5.8.1/xz-5.8.1.tar.xz",
            _DEBIAN + "x/xz-utils/xz-utils_5.8.1.orig.tar.xz",
        ],
        sha256 = "0b54f79df85912504de0b14aec7971e3f964491af1812d83447005807513cd9e",
    ),
    # Debian's tarball is repacked (dfsg: files outside the library removed; lib/ is complete).
    "zstd": struct(
        version = "1.5.7",
        urls = [_DEBIAN + "libz/libzstd/libzstd_1.5.7%2bdfsg.orig.tar.xz"],
        sha256 = "0c092ef267edce57ba7f3f2645c861f72eaf5e76273c6c3632869423464b90a5",
    ),
    # Debian's tarball is repacked (dfsg).
    "zlib": struct(
        version = "1.3.1",
        urls = [_DEBIAN + "z/zlib/zlib_1.3.dfsg%2breally1.3.1.orig.tar.gz"],
        sha256 = "60dd315c07f616887caa029408308a018ace66e3d142726a97db164b3b8f69fb",
    ),
}
