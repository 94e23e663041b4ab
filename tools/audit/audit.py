"""Audits a linked program for forbidden dependencies: the build gate of every standalone binary.

ELF files are read with pyelftools and PE files with pefile, then checked against a policy, one
data file per target platform (policies/<name>.json; the checks and the format are in
docs/audit.md). ELF: machine, needed libraries, symbol versions (glibc limit, no libstdc++),
RPATH/RUNPATH, stack, RELRO, BIND_NOW, text relocations, writable+executable segments, and for
static targets no DT_NEEDED and no program interpreter. PE: machine, subsystem, imported DLLs
and DLL characteristics.

    audit.py FILE [--policy NAME|PATH] [--allow-library NAME]... [--json] [--stamp OUT]

Exit codes: 0 the file passes, 1 it breaks the policy, 2 it cannot be audited (missing, empty,
truncated, neither ELF nor PE, or no usable policy).
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import os
import re
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

if TYPE_CHECKING:
    import pefile

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2
JSON_VERSION = 1
POLICY_DIR = Path(os.path.abspath(__file__)).parent / "policies"

# ELF requirements a policy can switch off; all default to on.
ELF_REQUIREMENTS = ("no_rpath", "no_exec_stack", "relro", "bind_now", "no_textrel", "no_wx_segments")
_ELF_KEYS = {"elf_class", "libc", "static", "max_symbol_versions", "forbidden_symbol_versions", "require"}
_PE_KEYS = {"subsystem", "dll_characteristics"}
_COMMON_KEYS = {"name", "description", "format", "machine", "allowed_libraries", "fixes"}

_PF_X, _PF_W = 0x1, 0x2
_DF_TEXTREL, _DF_BIND_NOW, _DF_1_NOW = 0x4, 0x8, 0x1
_VERSYM_HIDDEN = 0x8000
_NUMBERED_VERSION = re.compile(r"^(?P<namespace>[A-Za-z0-9_]*?)_(?P<number>\d+(?:\.\d+)*)$")
_ARCHITECTURES = {
    "EM_X86_64": "x86_64", "EM_AARCH64": "aarch64", "EM_386": "i386", "EM_ARM": "arm",
    "EM_RISCV": "riscv", "EM_PPC64": "ppc64", "EM_S390": "s390x",
    "IMAGE_FILE_MACHINE_AMD64": "x86_64", "IMAGE_FILE_MACHINE_ARM64": "aarch64", "IMAGE_FILE_MACHINE_I386": "i386",
}
_SHOWN_SYMBOLS = 5
# pefile's data directory, the attribute it parses it into, and how a report names it.
_PE_IMPORTS = (
    ("IMAGE_DIRECTORY_ENTRY_IMPORT", "DIRECTORY_ENTRY_IMPORT", "import"),
    ("IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT", "DIRECTORY_ENTRY_DELAY_IMPORT", "delay-load import"),
)

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
_LIBRARY_FIXES = (
    ("libstdc++.so*", "link the C++ runtime statically (-static-libstdc++) or drop the C++ dependency"),
    ("libgcc_s.so*", "link libgcc statically (-static-libgcc)"),
)


class AuditError(Exception):
    """The file cannot be audited (unreadable, truncated, unknown format) or the policy is unusable."""


def _pefile() -> types.ModuleType:
    # Imported only for PE work: building its tables takes longer than auditing a large ELF file.
    import pefile

    return pefile


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


@dataclasses.dataclass
class Report:
    """The outcome of auditing one file."""

    file: str
    format: str
    machine: str
    policy: Policy
    chosen_by: str
    facts: dict[str, Any]
    violations: list[Violation]

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def architecture(self) -> str:
        return _ARCHITECTURES.get(self.machine, self.machine)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form (docs/audit.md)."""
        return {
            "version": JSON_VERSION,
            "file": self.file,
            "ok": self.ok,
            "format": self.format,
            "machine": self.machine,
            "architecture": self.architecture,
            "policy": {
                "name": self.policy.name,
                "description": self.policy.description,
                "source": self.policy.source,
                "chosen_by": self.chosen_by,
                "added_libraries": list(self.policy.added_libraries),
            },
            "facts": self.facts,
            "violations": [dataclasses.asdict(v) for v in self.violations],
        }

    def to_text(self) -> str:
        """The human-readable report."""
        head = f"{self.file}: {self.format.upper()} {self.architecture}, policy {self.policy.name} ({self.chosen_by}"
        if self.policy.added_libraries:
            head += f"; also allowing {', '.join(self.policy.added_libraries)}"
        head += ")"
        lines = [head]
        libraries = self.facts.get("libraries") or []
        lines.append(f"  libraries: {', '.join(libraries) or 'none'}")
        versions = self.facts.get("highest_symbol_versions") or {}
        if versions:
            shown = []
            for namespace, version in sorted(versions.items()):
                limit = self.policy.max_symbol_versions.get(namespace)
                shown.append(f"{namespace}_{version}" + (f" (limit {namespace}_{limit})" if limit else ""))
            lines.append(f"  highest symbol versions: {', '.join(shown)}")
        if self.ok:
            lines.append("  ok: no violations")
        else:
            count = len(self.violations)
            lines.append(f"  {count} violation{'s' if count > 1 else ''}:")
            for v in self.violations:
                lines.append(f"  - [{v.check}] {v.message}")
                lines.append(f"    fix: {v.fix}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Policies


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
        pefile = _pefile()
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
    return parse_policy(*_read_policy(name))


def _is_policy_path(name: str) -> bool:
    return "/" in name or os.sep in name or name.endswith(".json")


def _read_policy(name: str) -> tuple[Any, str]:
    if _is_policy_path(name):
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


def _builtin_policies(kind: str) -> list[Policy]:
    """The built-in policies for one file format (the others are not even validated)."""
    docs = [_read_policy(name) for name in builtin_policy_names()]
    return [parse_policy(doc, source) for doc, source in docs if isinstance(doc, dict) and doc.get("format") == kind]


# ---------------------------------------------------------------------------------------------
# Reading the file


@dataclasses.dataclass
class _NeededVersion:
    file: str
    name: str
    index: int


@dataclasses.dataclass
class _ElfFacts:
    path: str
    machine: str
    elf_class: int
    e_type: str
    segments: list[tuple[str, int]]
    interpreter: str | None
    has_dynamic: bool
    needed: list[str]
    rpath: list[str]
    runpath: list[str]
    flags: int
    flags_1: int
    bind_now_tag: bool
    textrel_tag: bool
    has_verneed_tag: bool
    versions: list[_NeededVersion]
    versym: GNUVerSymSection | None
    little_endian: bool

    @property
    def static_pie(self) -> bool:
        return self.e_type == "ET_DYN" and not self.needed

    def symbols_by_version(self, indices: set[int]) -> dict[int, list[str]]:
        """Names of the dynamic symbols bound to each version index in `indices`."""
        found: dict[int, list[str]] = {i: [] for i in indices}
        if self.versym is None or not indices:
            return found
        try:
            # .gnu.version is an array of Elf_Half, one per .dynsym entry; read it whole (a
            # per-entry parse of thousands of symbols would dominate the audit's time).
            table = memoryview(self.versym.data()).cast("H")
            swap = self.little_endian != (sys.byteorder == "little")
            symbols = self.versym.symboltable
            for n, raw in enumerate(table):
                if swap:
                    raw = ((raw & 0xFF) << 8) | (raw >> 8)
                index = raw & ~_VERSYM_HIDDEN
                if index in found:
                    found[index].append(symbols.get_symbol(n).name)
        except Exception as err:  # pyelftools raises assorted errors on a corrupt symbol table
            raise AuditError(f"{self.path}: corrupt dynamic symbol table ({type(err).__name__}: {err})") from err
        return found


def _check_extent(what: str, end: int, size: int, path: str) -> None:
    if end > size:
        raise AuditError(f"{path}: truncated ELF file: {what} ends at byte {end} but the file has {size} bytes")


def _read_elf(elf: ELFFile, size: int, path: str) -> _ElfFacts:
    header = elf.header
    _check_extent("the program header table", header["e_phoff"] + header["e_phnum"] * header["e_phentsize"], size, path)
    if header["e_shnum"]:
        _check_extent("the section header table", header["e_shoff"] + header["e_shnum"] * header["e_shentsize"], size, path)
    segments, interpreter, dynamic = [], None, None
    for index, segment in enumerate(elf.iter_segments()):
        kind = segment["p_type"]
        kind = kind if isinstance(kind, str) else f"0x{kind:x}"
        _check_extent(f"segment {index} ({kind})", segment["p_offset"] + segment["p_filesz"], size, path)
        segments.append((kind, segment["p_flags"]))
        if kind == "PT_INTERP":
            interpreter = segment.get_interp_name()
        elif kind == "PT_DYNAMIC" and dynamic is None:
            dynamic = segment
    needed, rpath, runpath = [], [], []
    flags = flags_1 = 0
    bind_now_tag = textrel_tag = verneed_tag = False
    if dynamic is not None:
        for tag in dynamic.iter_tags():
            name = tag.entry.d_tag
            if name == "DT_NEEDED":
                needed.append(tag.needed)
            elif name == "DT_RPATH":
                rpath.append(tag.rpath)
            elif name == "DT_RUNPATH":
                runpath.append(tag.runpath)
            elif name == "DT_FLAGS":
                flags |= tag["d_val"]
            elif name == "DT_FLAGS_1":
                flags_1 |= tag["d_val"]
            elif name == "DT_BIND_NOW":
                bind_now_tag = True
            elif name == "DT_TEXTREL":
                textrel_tag = True
            elif name == "DT_VERNEED":
                verneed_tag = True
    versions: list[_NeededVersion] = []
    versym = None
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_NOBITS":
            _check_extent(f"section {section.name or '?'}", section["sh_offset"] + section["sh_size"], size, path)
        if isinstance(section, GNUVerNeedSection):
            for verneed, auxiliaries in section.iter_versions():
                for aux in auxiliaries:
                    versions.append(_NeededVersion(verneed.name, aux.name, aux["vna_other"]))
        elif isinstance(section, GNUVerSymSection) and section["sh_entsize"] == 2:
            versym = section
    e_type = header["e_type"]
    return _ElfFacts(
        path=path,
        machine=str(header["e_machine"]),
        elf_class=elf.elfclass,
        e_type=e_type if isinstance(e_type, str) else f"0x{e_type:x}",
        segments=segments,
        interpreter=interpreter,
        has_dynamic=dynamic is not None,
        needed=needed,
        rpath=rpath,
        runpath=runpath,
        flags=flags,
        flags_1=flags_1,
        bind_now_tag=bind_now_tag,
        textrel_tag=textrel_tag,
        has_verneed_tag=verneed_tag,
        versions=versions,
        versym=versym,
        little_endian=elf.little_endian,
    )


def _detect(path: str) -> str:
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        raise AuditError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AuditError(f"{path}: is a directory, not a program") from None
    except OSError as err:
        raise AuditError(f"{path}: cannot read: {err.strerror}") from err
    if not magic:
        raise AuditError(f"{path}: the file is empty: not an ELF or PE program")
    if magic == b"\x7fELF":
        return "elf"
    if magic[:2] == b"MZ":
        return "pe"
    raise AuditError(f"{path}: neither an ELF nor a PE file (it starts with bytes {magic.hex(' ')})")


# ---------------------------------------------------------------------------------------------
# Choosing a policy


def _elf_libc(facts: _ElfFacts) -> str:
    interp = facts.interpreter or ""
    if "ld-musl" in interp or any(n.startswith("libc.musl") for n in facts.needed):
        return "musl"
    if not facts.needed and not interp:
        return "static"
    return "gnu"


def _choose_elf_policy(facts: _ElfFacts) -> tuple[Policy, str]:
    libc = _elf_libc(facts)
    candidates = [p for p in _builtin_policies("elf")
                  if p.machine == facts.machine and p.elf_class == facts.elf_class]
    described = f"ELF{facts.elf_class} {facts.machine}, " + {"musl": "musl", "static": "static", "gnu": "glibc"}[libc]
    if not candidates:
        raise AuditError(f"no built-in policy for {described}; name one with --policy "
                         f"(built-in: {', '.join(builtin_policy_names())})")
    wanted = [p for p in candidates if (p.static if libc == "static" else p.libc == libc)]
    if len(wanted) == 1:
        return wanted[0], f"chosen from the file: {described}"
    floors = {p.name: _version_key(p.max_symbol_versions.get("GLIBC", "0")) for p in wanted}
    if len(wanted) > 1 and len(set(floors.values())) == len(wanted):
        # glibc variants of one platform (linux_x86_64_gnu, linux_x86_64_gnu_2_28): the oldest
        # glibc is the default platform's; a newer floor is chosen by naming its policy.
        strictest = min(wanted, key=lambda p: floors[p.name])
        return strictest, f"chosen from the file: {described}"
    if len(candidates) == 1:  # the machine's only policy, even if made for another libc
        return candidates[0], f"chosen from the file: {described}"
    raise AuditError(f"more than one built-in policy fits {described} "
                     f"({', '.join(p.name for p in candidates)}); name one with --policy")


def _choose_pe_policy(machine: str) -> tuple[Policy, str]:
    candidates = [p for p in _builtin_policies("pe") if p.machine == machine]
    if len(candidates) != 1:
        problem = "no built-in policy" if not candidates else "more than one built-in policy"
        raise AuditError(f"{problem} for PE {machine}; name one with --policy")
    return candidates[0], f"chosen from the file: PE {machine}"


# ---------------------------------------------------------------------------------------------
# Checks


def _shown(names: list[str]) -> str:
    more = len(names) - _SHOWN_SYMBOLS
    return ", ".join(names[:_SHOWN_SYMBOLS]) + (f" and {more} more" if more > 0 else "")


def _version_key(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


def _check_elf(facts: _ElfFacts, policy: Policy) -> tuple[list[Violation], dict[str, Any]]:
    violations: list[Violation] = []

    def add(check: str, subject: str, message: str, **kwargs: Any) -> None:
        violations.append(Violation(check, subject, message, kwargs.pop("fix", None) or policy.fix(check), **kwargs))

    arch = _ARCHITECTURES.get(policy.machine, policy.machine)
    if facts.machine != policy.machine:
        add("machine", facts.machine, f"e_machine is {facts.machine} ({_ARCHITECTURES.get(facts.machine, '?')}) "
            f"but policy {policy.name} is for {policy.machine} ({arch})", limit=policy.machine)
    if facts.elf_class != policy.elf_class:
        add("elf_class", f"ELF{facts.elf_class}", f"the file is {facts.elf_class}-bit but policy {policy.name} "
            f"is for {policy.elf_class}-bit", limit=f"ELF{policy.elf_class}")
    if facts.e_type not in ("ET_EXEC", "ET_DYN"):
        add("file_type", facts.e_type, f"e_type is {facts.e_type}: not a linked program or shared library",
            limit="ET_EXEC or ET_DYN")

    # Versions: which library each comes from, and which are over the policy's limits.
    by_file: dict[str, list[_NeededVersion]] = {}
    for version in facts.versions:
        by_file.setdefault(version.file, []).append(version)
    highest: dict[str, str] = {}
    bad_versions: list[tuple[_NeededVersion, str, str, str]] = []  # version, check, limit, why
    for version in facts.versions:
        match = _NUMBERED_VERSION.match(version.name)
        if match:
            namespace, number = match.group("namespace"), match.group("number")
            if namespace not in highest or _version_key(number) > _version_key(highest[namespace]):
                highest[namespace] = number
        forbidden = next((p for p in policy.forbidden_symbol_versions if fnmatch.fnmatchcase(version.name, p)), None)
        if forbidden:
            bad_versions.append((version, "forbidden_symbol_version", f"no {forbidden}",
                                 f"policy {policy.name} forbids {forbidden}"))
            continue
        for namespace, limit in policy.max_symbol_versions.items():
            if not version.name.startswith(namespace + "_"):
                continue
            if not match or match.group("namespace") != namespace:
                bad_versions.append((version, "symbol_version", f"{namespace}_{limit}",
                                     f"not a numbered release; policy {policy.name} allows {namespace} versions "
                                     f"up to {namespace}_{limit}"))
            elif _version_key(match.group("number")) > _version_key(limit):
                bad_versions.append((version, "symbol_version", f"{namespace}_{limit}",
                                     f"newer than policy {policy.name}'s limit {namespace}_{limit}"))
    unallowed = [lib for lib in facts.needed if not policy.allows_library(lib)]
    wanted = {v.index for v, _, _, _ in bad_versions} | {v.index for lib in unallowed for v in by_file.get(lib, [])}
    symbols = facts.symbols_by_version(wanted)

    for lib in unallowed:
        bound = [f"{s}@{v.name}" for v in by_file.get(lib, []) for s in symbols.get(v.index, [])]
        origin = f"symbols taken from it: {_shown(bound)}" if bound else None
        fix = next((hint for pattern, hint in _LIBRARY_FIXES if fnmatch.fnmatchcase(lib, pattern)), None)
        if policy.static:
            add("library", lib, f"DT_NEEDED {lib}: policy {policy.name} is for static binaries, which need no "
                f"shared library" + (f" ({origin})" if origin else ""), origin=origin, limit="no DT_NEEDED",
                fix=fix or policy.fix("static_library"))
        else:
            allowed = ", ".join(policy.allowed_libraries + policy.added_libraries)
            add("library", lib, f"DT_NEEDED {lib} is not in policy {policy.name}'s allowed libraries ({allowed})"
                + (f"; {origin}" if origin else ""), origin=origin, limit=f"allowed: {allowed}", fix=fix)
    for version, check, limit, why in bad_versions:
        names = symbols.get(version.index, [])
        who = f"symbols {_shown(names)} need" if len(names) > 1 else f"symbol {names[0]} needs" if names else "the file needs"
        add(check, _shown(names) or version.name, f"{who} {version.name} from {version.file}: {why}",
            version=version.name, limit=limit, origin=f"from {version.file}")
    if facts.has_verneed_tag and not facts.versions and (policy.max_symbol_versions or policy.forbidden_symbol_versions):
        add("symbol_versions_unreadable", "DT_VERNEED", "the file needs versioned symbols but has no section "
            "headers to read them from, so the symbol version limits cannot be checked", limit="readable versions")

    if policy.static and facts.interpreter and not facts.static_pie:
        add("interpreter", facts.interpreter, f"PT_INTERP {facts.interpreter}: policy {policy.name} is for static "
            "binaries, which have no program interpreter (allowed only in a static-pie)", limit="no PT_INTERP")
    if policy.requires("no_rpath"):
        for tag, paths in (("DT_RPATH", facts.rpath), ("DT_RUNPATH", facts.runpath)):
            for value in paths:
                add("rpath", value, f"{tag} {value!r}: policy {policy.name} allows no RPATH/RUNPATH",
                    limit="no RPATH/RUNPATH")
    stacks = [flags for kind, flags in facts.segments if kind == "PT_GNU_STACK"]
    if policy.requires("no_exec_stack"):
        if not stacks:
            add("exec_stack", "PT_GNU_STACK", "no PT_GNU_STACK segment: the kernel may give the program an "
                "executable stack", limit="PT_GNU_STACK without PF_X")
        elif any(flags & _PF_X for flags in stacks):
            add("exec_stack", "PT_GNU_STACK", "PT_GNU_STACK is executable (PF_X): the stack must not be",
                limit="PT_GNU_STACK without PF_X")
    if facts.has_dynamic and policy.requires("relro") and not any(k == "PT_GNU_RELRO" for k, _ in facts.segments):
        add("relro", "PT_GNU_RELRO", "no PT_GNU_RELRO segment: relocated data stays writable", limit="PT_GNU_RELRO")
    bind_now = facts.bind_now_tag or facts.flags & _DF_BIND_NOW or facts.flags_1 & _DF_1_NOW
    if facts.has_dynamic and policy.requires("bind_now") and not bind_now:
        add("bind_now", "DT_FLAGS", "neither DF_BIND_NOW in DT_FLAGS nor DF_1_NOW in DT_FLAGS_1: symbols are bound "
            "lazily, so the GOT cannot be fully read-only", limit="DF_BIND_NOW or DF_1_NOW")
    if policy.requires("no_textrel") and (facts.textrel_tag or facts.flags & _DF_TEXTREL):
        add("textrel", "DT_TEXTREL", "the file has text relocations (DT_TEXTREL or DF_TEXTREL): code pages are "
            "written at load time", limit="no text relocations")
    if policy.requires("no_wx_segments"):
        for index, (kind, flags) in enumerate(facts.segments):
            if kind == "PT_LOAD" and flags & _PF_W and flags & _PF_X:
                add("wx_segment", f"segment {index}", f"PT_LOAD segment {index} is both writable and executable",
                    limit="no W+X segment")

    facts_out = {
        "type": facts.e_type,
        "libraries": facts.needed,
        "interpreter": facts.interpreter,
        "rpath": facts.rpath,
        "runpath": facts.runpath,
        "highest_symbol_versions": dict(sorted(highest.items())),
        "static": not facts.needed and not facts.interpreter,
    }
    return violations, facts_out


def _decode(name: bytes | None) -> str:
    return name.decode("ascii", "replace") if name else ""


def _read_pe(path: str, size: int) -> pefile.PE:
    pefile = _pefile()
    pe = pefile.PE(path, fast_load=True)
    for section in pe.sections:
        end = section.PointerToRawData + section.SizeOfRawData
        if section.SizeOfRawData and end > size:
            name = _decode(section.Name.rstrip(b"\0"))
            pe.close()
            raise AuditError(f"{path}: truncated PE file: section {name} ends at byte {end} but the file has {size} bytes")
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY[entry] for entry, _, _ in _PE_IMPORTS])
    directories = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    for entry, attribute, what in _PE_IMPORTS:
        index = pefile.DIRECTORY_ENTRY[entry]
        # pefile warns and goes on when a table is unreadable; an unread table would pass unseen.
        if index < len(directories) and directories[index].VirtualAddress and not hasattr(pe, attribute):
            pe.close()
            raise AuditError(f"{path}: corrupt PE file: its {what} table cannot be read")
    return pe


def _check_pe(pe: pefile.PE, policy: Policy) -> tuple[list[Violation], dict[str, Any], str]:
    pefile = _pefile()
    violations: list[Violation] = []

    def add(check: str, subject: str, message: str, **kwargs: Any) -> None:
        violations.append(Violation(check, subject, message, policy.fix(check), **kwargs))

    machine = pefile.MACHINE_TYPE.get(pe.FILE_HEADER.Machine, f"0x{pe.FILE_HEADER.Machine:x}")
    if machine != policy.machine:
        add("machine", machine, f"the file's machine is {machine} but policy {policy.name} is for {policy.machine}",
            limit=policy.machine)
    subsystem = pefile.SUBSYSTEM_TYPE.get(pe.OPTIONAL_HEADER.Subsystem, str(pe.OPTIONAL_HEADER.Subsystem))
    if policy.subsystem and subsystem != policy.subsystem:
        add("subsystem", subsystem, f"subsystem is {subsystem} but policy {policy.name} requires {policy.subsystem}",
            limit=policy.subsystem)
    characteristics = pe.OPTIONAL_HEADER.DllCharacteristics
    for flag in policy.dll_characteristics:
        if not characteristics & pefile.DLL_CHARACTERISTICS[flag]:
            add("dll_characteristics", flag, f"DllCharacteristics lacks {flag}", limit=flag)

    imports: dict[str, list[str]] = {}  # DLL as the report shows it -> imported functions
    dlls: dict[str, str] = {}  # the same -> the DLL's name
    for _, attribute, what in _PE_IMPORTS:
        for entry in getattr(pe, attribute, []):
            dll = _decode(entry.dll)
            shown = dll if what == "import" else f"{dll} (delay-loaded)"
            dlls[shown] = dll
            imports.setdefault(shown, []).extend(_decode(i.name) or f"#{i.ordinal}" for i in entry.imports)
    allowed = ", ".join(policy.allowed_libraries + policy.added_libraries)
    for shown, names in imports.items():
        if not policy.allows_library(dlls[shown]):
            origin = f"functions imported from it: {_shown(names)}" if names else None
            add("dll", dlls[shown], f"imports {shown}, which is not in policy {policy.name}'s allowed DLLs ({allowed})"
                + (f"; {origin}" if origin else ""), origin=origin, limit=f"allowed: {allowed}")
    facts = {
        "libraries": list(imports),
        "subsystem": subsystem,
        "dll_characteristics": sorted(n for n, v in pefile.DLL_CHARACTERISTICS.items()
                                      if isinstance(n, str) and characteristics & v),
    }
    return violations, facts, machine


# ---------------------------------------------------------------------------------------------
# Entry points


def dynamic_exports(elf: ELFFile) -> list[str]:
    """Names of the symbols an ELF file exports: defined, global or weak, and visible (default
    or protected visibility) in its dynamic symbol table, sorted."""
    names = set()
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_DYNSYM":
            continue
        for symbol in section.iter_symbols():
            if (symbol.name and symbol["st_shndx"] != "SHN_UNDEF"
                    and symbol["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK", "STB_GNU_UNIQUE")
                    and symbol["st_other"]["visibility"] in ("STV_DEFAULT", "STV_PROTECTED")):
                names.add(symbol.name)
    return sorted(names)


def _check_exports(exports: list[str], patterns: list[str], policy: Policy) -> list[Violation]:
    """exported_symbol: every export matches one of `patterns` (a shared object's API)."""
    extra = [name for name in exports if not any(fnmatch.fnmatchcase(name, p) for p in patterns)]
    allowed = ", ".join(patterns)
    return [Violation("exported_symbol", _shown(extra), f"exports {len(extra)} symbol(s) outside its API "
                      f"({allowed}): {_shown(extra)}", policy.fix("exported_symbol"), limit=f"only {allowed}")] if extra else []


def audit(path: str | os.PathLike[str], policy: str | Policy | None = None,
          allow_libraries: Iterable[str] = (), exported_symbols: Iterable[str] | None = None) -> Report:
    """Audits one file against `policy` (a Policy, a built-in name or a path; None: chosen from
    the file's architecture), with `allow_libraries` added to its allowlist. `exported_symbols`
    (ELF only): shell patterns every symbol the file exports must match (a shared object that
    exports only its API); the report's facts then list the exports."""
    path = os.fspath(path)
    kind = _detect(path)
    named = load_policy(policy) if isinstance(policy, str) else policy
    chosen_by = "named by the caller" if named is not None else ""
    size = os.path.getsize(path)
    if kind == "elf":
        with open(path, "rb") as stream:
            try:
                facts = _read_elf(ELFFile(stream), size, path)
            except AuditError:
                raise
            except Exception as err:  # pyelftools raises assorted errors on malformed input
                raise AuditError(f"{path}: truncated or corrupt ELF file ({type(err).__name__}: {err})") from err
            if named is None:
                named, chosen_by = _choose_elf_policy(facts)
            chosen = named.with_libraries(allow_libraries)
            if chosen.format != "elf":
                raise AuditError(f"{path}: an ELF file, but policy {chosen.name} is for {chosen.format.upper()} files")
            violations, facts_out = _check_elf(facts, chosen)
            if exported_symbols is not None:
                try:
                    exports = dynamic_exports(ELFFile(stream))
                except Exception as err:  # pyelftools raises assorted errors on malformed input
                    raise AuditError(f"{path}: corrupt dynamic symbol table ({type(err).__name__}: {err})") from err
                facts_out["exported_symbols"] = exports
                violations += _check_exports(exports, list(exported_symbols), chosen)
        return Report(path, kind, facts.machine, chosen, chosen_by, facts_out, violations)

    pefile = _pefile()
    try:
        pe = _read_pe(path, size)
    except AuditError:
        raise
    except pefile.PEFormatError as err:
        raise AuditError(f"{path}: not a valid PE file ({err.value})") from err
    except Exception as err:  # pefile raises assorted errors on malformed input
        raise AuditError(f"{path}: truncated or corrupt PE file ({type(err).__name__}: {err})") from err
    try:
        if named is None:
            machine = pefile.MACHINE_TYPE.get(pe.FILE_HEADER.Machine, f"0x{pe.FILE_HEADER.Machine:x}")
            named, chosen_by = _choose_pe_policy(machine)
        chosen = named.with_libraries(allow_libraries)
        if chosen.format != "pe":
            raise AuditError(f"{path}: a PE file, but policy {chosen.name} is for {chosen.format.upper()} files")
        violations, facts_out, machine = _check_pe(pe, chosen)
    finally:
        pe.close()
    return Report(path, kind, machine, chosen, chosen_by, facts_out, violations)


def _from_caller(path: str | None) -> str | None:
    """`bazel run` starts the tool in its runfiles: relative paths are the caller's."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY")
    if path is None or not base or os.path.isabs(path):
        return path
    return os.path.join(base, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog=f"built-in policies: {', '.join(builtin_policy_names())}")
    parser.add_argument("file", help="the ELF or PE program to audit")
    parser.add_argument("--policy", help="a built-in policy name or a policy file; default: the built-in policy "
                        "for the file's architecture")
    parser.add_argument("--allow-library", action="append", default=[], metavar="NAME",
                        help="also allow this needed library or DLL (wildcards allowed); repeatable")
    parser.add_argument("--exported-symbol", action="append", metavar="PATTERN",
                        help="every symbol the file exports must match one of these (wildcards); repeatable")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (docs/audit.md)")
    parser.add_argument("--stamp", metavar="OUT", help="on success, write the report's summary here and print "
                        "nothing (the output of a Bazel validation action)")
    args = parser.parse_args(argv)
    args.file, args.stamp = _from_caller(args.file), _from_caller(args.stamp)
    if args.policy and _is_policy_path(args.policy):
        args.policy = _from_caller(args.policy)
    try:
        report = audit(args.file, args.policy, args.allow_library, args.exported_symbol)
    except AuditError as err:
        print(f"audit: {err}", file=sys.stderr)
        if args.json:
            print(json.dumps({"version": JSON_VERSION, "file": args.file, "ok": False, "error": str(err)}, indent=2))
        return EXIT_ERROR
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif not (report.ok and args.stamp):
        print(f"audit: {report.to_text()}")
    if report.ok and args.stamp:
        try:
            Path(args.stamp).write_text(f"audit: {report.to_text()}\n", encoding="utf-8")
        except OSError as err:
            print(f"audit: cannot write the stamp {args.stamp}: {err.strerror}", file=sys.stderr)
            return EXIT_ERROR
    return EXIT_OK if report.ok else EXIT_VIOLATIONS


if __name__ == "__main__":
    sys.exit(main())
