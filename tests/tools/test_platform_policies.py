"""Each platform of the table (toolchains/platforms.bzl) and the audit policy it names agree on
what a binary for it is: ELF machine, libc, static or not, and the newest glibc symbol version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import rlocation
from tools.audit import policy


TABLE: dict[str, Any] = json.loads(rlocation.path("PLATFORM_TABLE").read_text(encoding="utf-8"))
PLATFORMS = TABLE["platforms"]


def test_the_table_has_the_build_machine() -> None:
    assert TABLE["build_machine"] in {p["name"] for p in PLATFORMS}


@pytest.mark.parametrize("platform", PLATFORMS, ids=[p["name"] for p in PLATFORMS])
def test_platform_and_its_audit_policy_agree(platform: dict[str, Any]) -> None:
    chosen = policy.load_policy(platform["audit_policy"])
    assert chosen.format == "elf"
    assert chosen.machine == platform["elf_machine"], f"{chosen.source}: machine"
    assert chosen.libc == platform["libc"], f"{chosen.source}: libc"
    assert chosen.static == platform["static"], f"{chosen.source}: static"
    if platform["glibc"]:
        assert chosen.max_symbol_versions.get("GLIBC") == platform["glibc"], f"{chosen.source}: glibc floor"
    else:
        assert "GLIBC" not in chosen.max_symbol_versions, f"{chosen.source}: a glibc limit on a musl platform"


@pytest.mark.parametrize("platform", PLATFORMS, ids=[p["name"] for p in PLATFORMS])
def test_zig_target_names_the_cpu_libc_and_glibc_floor(platform: dict[str, Any]) -> None:
    expected = f"{platform['cpu']}-linux-{platform['libc']}" + (f".{platform['glibc']}" if platform["glibc"] else "")
    assert platform["zig_target"] == expected
    assert platform["pbs_triple"] == f"{platform['cpu']}-unknown-linux-{platform['libc']}"
