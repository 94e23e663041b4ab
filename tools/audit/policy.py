"""Audit policies (policies/<name>.json, docs/audit.md): reading and validating them, and what a
violation of one says."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

POLICY_DIR = Path(os.path.abspath(__file__)).parent / "policies"

# ELF requirements a policy can switch off; all default to on.
ELF_REQUIREMENTS = ("no_rpath", "no_exec_stack", "relro", "bind_now", "no_textrel", "no_wx_segments")
_ELF_KEYS = {"elf_class", "libc", "static", "max_symbol_versions", "forbidden_symbol_versions", "require"}
_PE_KEYS = {"subsystem", "dll_characteristics"}
_COMMON_KEYS = {"name", "description", "format", "machine", "allowed_libraries", "fixes"}

ARCHITECTURES = {
    "EM_X86_64": "x86_64", "EM_AARCH64": "aarch64", "EM_386": "i386", "EM_ARM": "arm",
    "EM_RISCV": "riscv", "EM_PPC64": "ppc64", "EM_S390": "s390x",
    "IMAGE_FILE_MACHINE_AMD64": "x86_64", "IMAGE_FILE_MACHINE_ARM64": "aarch64", "IMAGE_FILE_MACHINE_I386": "i386",
}
SHOWN_SYMBOLS = 5

# How to fix each kind of violation; a policy's "fixes" override these.
FIXES = {
    "machine": "build for the policy's machine, or name the policy of the file's target with --policy",
    "elf_class": "build for the policy's word size, or name the policy of the file's target with --policy",
    "file_type": "audit the linked program, not an object file or core dump",
    "library": "drop the dependency or link that library statically; if every target system has it, "
               "extend the policy for this target (--allow-library NAME)",
    "static_library": "link statically (-static): this target's binaries must not need shared libraries",
    "interpreter": "link with -static (or -static-pie): a static binary has no program interpreter",
    "symbol_version": "link against an older C library: use the zig toolchain's target for the policy's "
                      "oldest supported version",
    "forbidden_symbol_version": "these come from the shared C++ runtime: link it statically "
                                "(-static-libstdc++) or drop the C++ dependency",
    "symbol_versions_unreadable": "keep the section headers (do not sstrip) so the symbol versions can be checked",
    "rpath": "remove the RPATH/RUNPATH: drop -Wl,-rpath (a standalone binary loads nothing from beside itself)",
    "exec_stack": "link with -z noexecstack, and give every assembly object a .note.GNU-stack section",
    "relro": "link with -z relro",
    "bind_now": "link with -z now",
    "textrel": "compile every object with -fPIC: text relocations come from non-PIC code",
    "wx_segment": "do not put code and writable data in one segment: drop -Wl,-N/--omagic and any linker "
                  "script section that is both writable and executable",
    "exported_symbol": "export only the API: link with a version script ({ global: <API>; local: *; };) or "
                       "compile with -fvisibility=hidden and mark the API visibility(\"default\")",
    "subsystem": "link as a console program (-Wl,--subsystem,console or /SUBSYSTEM:CONSOLE)",
    "dll": "drop the dependency or load the DLL at run time; if every supported Windows has it, extend the "
           "policy for this target (--allow-library NAME)",
    "dll_characteristics": "link with --nxcompat, --dynamicbase and --high-entropy-va (MSVC: /NXCOMPAT "
                           "/DYNAMICBASE /HIGHENTROPYVA)",
}

class AuditError(Exception):
    """The file cannot be audited (unreadable, truncated, unknown format) or the policy is unusable."""


@dataclasses.dataclass(frozen=True)
class Policy:
    """The rules for one target platform, read from a policy file."""

    name: str
    description: str
    format: str
    machine: str
    allowed_libraries: tuple[str, ...]
    source: str
    fixes: dict[str, str] = dataclasses.field(default_factory=dict)
    elf_class: int | None = None
    libc: str | None = None
    static: bool = False
    max_symbol_versions: dict[str, str] = dataclasses.field(default_factory=dict)
    forbidden_symbol_versions: tuple[str, ...] = ()
    require: dict[str, bool] = dataclasses.field(default_factory=dict)
    subsystem: str | None = None
    dll_characteristics: tuple[str, ...] = ()
    added_libraries: tuple[str, ...] = ()

    def allows_library(self, name: str) -> bool:
        """Whether `name` matches the allowlist (wildcards allowed; case-insensitive for PE DLLs)."""
        patterns = self.allowed_libraries + self.added_libraries
        if self.format == "pe":
            return any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns)
        return any(fnmatch.fnmatchcase(name, p) for p in patterns)

    def with_libraries(self, names: Iterable[str]) -> Policy:
        """This policy with more allowed libraries (a target's own extension)."""
        return dataclasses.replace(self, added_libraries=self.added_libraries + tuple(names))

    def requires(self, rule: str) -> bool:
        return self.require.get(rule, True)

    def fix(self, check: str) -> str:
        return self.fixes.get(check) or FIXES[check]


@dataclasses.dataclass(frozen=True)
class Violation:
    """One broken rule: what (subject, its version), the policy's limit, where it came from, and the fix."""

    check: str
    subject: str
    message: str
    fix: str
    version: str | None = None
    limit: str | None = None
    origin: str | None = None



def pefile_module() -> types.ModuleType:
    # Imported only for PE work: building its tables takes longer than auditing a large ELF file.
    import pefile

    return pefile



def shown(names: list[str]) -> str:
    more = len(names) - SHOWN_SYMBOLS
    return ", ".join(names[:SHOWN_SYMBOLS]) + (f" and {more} more" if more > 0 else "")


def version_key(number: str) -> tuple[int, ...]:
    """"2.17" -> (2, 17), for comparing versions."""
    return tuple(int(part) for part in number.split("."))


def builtin_policy_names() -> list[str]:
    """The names of the policy files shipped in policies/."""
    return sorted(p.stem for p in POLICY_DIR.glob("*.json"))


def _strings(doc: dict[str, Any], key: str, where: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
    value = doc.get(key)
    if value is None:
        if default is None:
            raise AuditError(f"{where}: {key}: missing")
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise AuditError(f"{where}: {key}: expected a list of non-empty strings")
    return tuple(value)


def _string(doc: dict[str, Any], key: str, where: str, optional: bool = False) -> str | None:
    value = doc.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise AuditError(f"{where}: {key}: {'missing' if value is None else 'expected a non-empty string'}")
    return value


def parse_policy(doc: Any, source: str) -> Policy:
    """Validates a decoded policy document; errors name the file and the key."""
    where = f"policy {source}"
    if not isinstance(doc, dict):
        raise AuditError(f"{where}: expected a JSON object")
    kind = _string(doc, "format", where)
    if kind not in ("elf", "pe"):
        raise AuditError(f"{where}: format: {kind!r} is neither 'elf' nor 'pe'")
    unknown = set(doc) - _COMMON_KEYS - (_ELF_KEYS if kind == "elf" else _PE_KEYS)
    if unknown:
        raise AuditError(f"{where}: unknown key(s) for a {kind} policy: {', '.join(sorted(unknown))}")
    fixes = doc.get("fixes", {})
    if not isinstance(fixes, dict) or not all(isinstance(v, str) for v in fixes.values()):
        raise AuditError(f"{where}: fixes: expected an object of strings")
    bad_fixes = set(fixes) - set(FIXES)
    if bad_fixes:
        raise AuditError(f"{where}: fixes: unknown check(s) {', '.join(sorted(bad_fixes))}")
    common = dict(
        name=_string(doc, "name", where),
        description=_string(doc, "description", where, optional=True) or "",
        format=kind,
        machine=_string(doc, "machine", where),
        allowed_libraries=_strings(doc, "allowed_libraries", where),
        source=source,
        fixes=dict(fixes),
    )
    if kind == "pe":
        pefile = pefile_module()
        flags = _strings(doc, "dll_characteristics", where, ())
        for flag in flags:
            if flag not in pefile.DLL_CHARACTERISTICS:
                raise AuditError(f"{where}: dll_characteristics: unknown flag {flag!r}")
        subsystem = _string(doc, "subsystem", where, optional=True)
        if subsystem is not None and subsystem not in pefile.SUBSYSTEM_TYPE:
            raise AuditError(f"{where}: subsystem: unknown subsystem {subsystem!r}")
        return Policy(**common, subsystem=subsystem, dll_characteristics=flags)

    elf_class = doc.get("elf_class", 64)
    if elf_class not in (32, 64) or isinstance(elf_class, bool):
        raise AuditError(f"{where}: elf_class: expected 32 or 64")
    static = doc.get("static", False)
    if not isinstance(static, bool):
        raise AuditError(f"{where}: static: expected true or false")
    limits = doc.get("max_symbol_versions", {})
    if not isinstance(limits, dict):
        raise AuditError(f"{where}: max_symbol_versions: expected an object")
    for namespace, limit in limits.items():
        if not isinstance(limit, str) or not re.fullmatch(r"\d+(\.\d+)*", limit):
            raise AuditError(f"{where}: max_symbol_versions.{namespace}: expected a version like \"2.17\"")
    require = doc.get("require", {})
    if not isinstance(require, dict) or not all(isinstance(v, bool) for v in require.values()):
        raise AuditError(f"{where}: require: expected an object of true/false")
    bad_rules = set(require) - set(ELF_REQUIREMENTS)
    if bad_rules:
        raise AuditError(f"{where}: require: unknown rule(s) {', '.join(sorted(bad_rules))}; "
                         f"known: {', '.join(ELF_REQUIREMENTS)}")
    return Policy(
        **common,
        elf_class=elf_class,
        libc=_string(doc, "libc", where, optional=True),
        static=static,
        max_symbol_versions=dict(limits),
        forbidden_symbol_versions=_strings(doc, "forbidden_symbol_versions", where, ()),
        require=dict(require),
    )


def load_policy(name: str) -> Policy:
    """A built-in policy by name, or a policy file by path (anything with a '/' or ending in .json)."""
    return parse_policy(*read_policy(name))


def is_policy_path(name: str) -> bool:
    return "/" in name or os.sep in name or name.endswith(".json")


def read_policy(name: str) -> tuple[Any, str]:
    if is_policy_path(name):
        path, source = Path(name), name
    else:
        path, source = POLICY_DIR / f"{name}.json", f"built-in:{name}"
        if not path.is_file():
            raise AuditError(f"unknown policy {name!r}; built-in policies: {', '.join(builtin_policy_names())} "
                             "(or give the path of a policy file)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise AuditError(f"policy {name}: cannot read {path}: {err.strerror}") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AuditError(f"policy {name}: {path} is not valid JSON: {err}") from err
    return doc, source


def builtin_policies(kind: str) -> list[Policy]:
    """The built-in policies for one file format (the others are not even validated)."""
    docs = [read_policy(name) for name in builtin_policy_names()]
    return [parse_policy(doc, source) for doc, source in docs if isinstance(doc, dict) and doc.get("format") == kind]


