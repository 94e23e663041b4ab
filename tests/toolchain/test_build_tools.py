"""The build tools made from source for the exec platform: perl (OpenSSL's Configure) runs from
wherever its directory is, with the core modules OpenSSL's build uses, and records nothing of the
machine that built it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests import rlocation


def _perl() -> Path:
    return rlocation.path("PERL_DIR") / "bin/perl"


def _run(*args: str) -> str:
    done = subprocess.run([str(_perl()), *args], capture_output=True, text=True, timeout=60, env={})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_perl_has_the_modules_openssl_configure_uses() -> None:
    modules = ["IPC::Cmd", "File::Spec::Functions", "File::Basename", "File::Path", "File::Copy", "Getopt::Long",
               "Data::Dumper", "POSIX", "Cwd", "FindBin", "Text::ParseWords", "Time::Local", "Digest::SHA", "Fcntl"]
    script = "".join(f"use {m}; " for m in modules) + "print qq(ok\\n);"
    assert _run("-e", script) == "ok\n"


def test_perl_finds_its_library_beside_itself() -> None:
    root = _perl().resolve().parent.parent
    paths = [Path(p) for p in _run("-e", "print join(qq(\\n), @INC), qq(\\n)").split()]
    assert paths, "empty @INC"
    for path in paths:
        assert path.resolve().is_relative_to(root), f"@INC entry {path} is outside perl's own directory {root}"


def test_perl_records_nothing_of_the_build_machine() -> None:
    config = dict(line.split("=", 1) for line in _run(
        "-MConfig", "-e", "print map { qq($_=$Config{$_}\\n) } qw(cc cf_time cf_by myhostname myuname osvers libs)").splitlines())
    # Only the toolchain's own libraries: no host library (libcrypt.a) and no -L into the host.
    assert sorted(config.pop("libs").split()) == ["-ldl", "-lm", "-lpthread"]
    assert config == {"cc": "cc", "cf_time": "Thu Jan  1 00:00:00 UTC 1970", "cf_by": "rules_py_standalone",
                      "myhostname": "localhost", "myuname": "linux", "osvers": "linux"}, config
