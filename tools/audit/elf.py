"""The ELF half of the audit: what a linked ELF file needs and allows, read with pyelftools, and
its checks against a policy."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import sys
from typing import Any

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

from tools.audit.policy import (
    ARCHITECTURES, AuditError, Policy, Violation, builtin_policies, builtin_policy_names, shown, version_key,
)

_PF_X, _PF_W = 0x1, 0x2
_DF_TEXTREL, _DF_BIND_NOW, _DF_1_NOW = 0x4, 0x8, 0x1
_VERSYM_HIDDEN = 0x8000
_NUMBERED_VERSION = re.compile(r"^(?P<namespace>[A-Za-z0-9_]*?)_(?P<number>\d+(?:\.\d+)*)$")
_LIBRARY_FIXES = (
    ("libstdc++.so*", "link the C++ runtime statically (-static-libstdc++) or drop the C++ dependency"),
    ("libgcc_s.so*", "link libgcc statically (-static-libgcc)"),
)



@dataclasses.dataclass
class NeededVersion:
    file: str
    name: str
    index: int


@dataclasses.dataclass
class ElfFacts:
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
    versions: list[NeededVersion]
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


def read_elf(elf: ELFFile, size: int, path: str) -> ElfFacts:
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
    versions: list[NeededVersion] = []
    versym = None
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_NOBITS":
            _check_extent(f"section {section.name or '?'}", section["sh_offset"] + section["sh_size"], size, path)
        if isinstance(section, GNUVerNeedSection):
            for verneed, auxiliaries in section.iter_versions():
                for aux in auxiliaries:
                    versions.append(NeededVersion(verneed.name, aux.name, aux["vna_other"]))
        elif isinstance(section, GNUVerSymSection) and section["sh_entsize"] == 2:
            versym = section
    e_type = header["e_type"]
    return ElfFacts(
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


def _elf_libc(facts: ElfFacts) -> str:
    interp = facts.interpreter or ""
    if "ld-musl" in interp or any(n.startswith("libc.musl") for n in facts.needed):
        return "musl"
    if not facts.needed and not interp:
        return "static"
    return "gnu"


def choose_elf_policy(facts: ElfFacts) -> tuple[Policy, str]:
    libc = _elf_libc(facts)
    candidates = [p for p in builtin_policies("elf")
                  if p.machine == facts.machine and p.elf_class == facts.elf_class]
    described = f"ELF{facts.elf_class} {facts.machine}, " + {"musl": "musl", "static": "static", "gnu": "glibc"}[libc]
    if not candidates:
        raise AuditError(f"no built-in policy for {described}; name one with --policy "
                         f"(built-in: {', '.join(builtin_policy_names())})")
    wanted = [p for p in candidates if (p.static if libc == "static" else p.libc == libc)]
    if len(wanted) == 1:
        return wanted[0], f"chosen from the file: {described}"
    floors = {p.name: version_key(p.max_symbol_versions.get("GLIBC", "0")) for p in wanted}
    if len(wanted) > 1 and len(set(floors.values())) == len(wanted):
        # glibc variants of one platform (linux_x86_64_gnu, linux_x86_64_gnu_2_28): the oldest
        # glibc is the default platform's; a newer floor is chosen by naming its policy.
        strictest = min(wanted, key=lambda p: floors[p.name])
        return strictest, f"chosen from the file: {described}"
    if len(candidates) == 1:  # the machine's only policy, even if made for another libc
        return candidates[0], f"chosen from the file: {described}"
    raise AuditError(f"more than one built-in policy fits {described} "
                     f"({', '.join(p.name for p in candidates)}); name one with --policy")


def check_elf(facts: ElfFacts, policy: Policy) -> tuple[list[Violation], dict[str, Any]]:
    violations: list[Violation] = []

    def add(check: str, subject: str, message: str, **kwargs: Any) -> None:
        violations.append(Violation(check, subject, message, kwargs.pop("fix", None) or policy.fix(check), **kwargs))

    arch = ARCHITECTURES.get(policy.machine, policy.machine)
    if facts.machine != policy.machine:
        add("machine", facts.machine, f"e_machine is {facts.machine} ({ARCHITECTURES.get(facts.machine, '?')}) "
            f"but policy {policy.name} is for {policy.machine} ({arch})", limit=policy.machine)
    if facts.elf_class != policy.elf_class:
        add("elf_class", f"ELF{facts.elf_class}", f"the file is {facts.elf_class}-bit but policy {policy.name} "
            f"is for {policy.elf_class}-bit", limit=f"ELF{policy.elf_class}")
    if facts.e_type not in ("ET_EXEC", "ET_DYN"):
        add("file_type", facts.e_type, f"e_type is {facts.e_type}: not a linked program or shared library",
            limit="ET_EXEC or ET_DYN")

    # Versions: which library each comes from, and which are over the policy's limits.
    by_file: dict[str, list[NeededVersion]] = {}
    for version in facts.versions:
        by_file.setdefault(version.file, []).append(version)
    highest: dict[str, str] = {}
    bad_versions: list[tuple[NeededVersion, str, str, str]] = []  # version, check, limit, why
    for version in facts.versions:
        match = _NUMBERED_VERSION.match(version.name)
        if match:
            namespace, number = match.group("namespace"), match.group("number")
            if namespace not in highest or version_key(number) > version_key(highest[namespace]):
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
            elif version_key(match.group("number")) > version_key(limit):
                bad_versions.append((version, "symbol_version", f"{namespace}_{limit}",
                                     f"newer than policy {policy.name}'s limit {namespace}_{limit}"))
    unallowed = [lib for lib in facts.needed if not policy.allows_library(lib)]
    wanted = {v.index for v, _, _, _ in bad_versions} | {v.index for lib in unallowed for v in by_file.get(lib, [])}
    symbols = facts.symbols_by_version(wanted)

    for lib in unallowed:
        bound = [f"{s}@{v.name}" for v in by_file.get(lib, []) for s in symbols.get(v.index, [])]
        origin = f"symbols taken from it: {shown(bound)}" if bound else None
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
        who = f"symbols {shown(names)} need" if len(names) > 1 else f"symbol {names[0]} needs" if names else "the file needs"
        add(check, shown(names) or version.name, f"{who} {version.name} from {version.file}: {why}",
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


def check_exports(exports: list[str], patterns: list[str], policy: Policy) -> list[Violation]:
    """exported_symbol: every export matches one of `patterns` (a shared object's API)."""
    extra = [name for name in exports if not any(fnmatch.fnmatchcase(name, p) for p in patterns)]
    allowed = ", ".join(patterns)
    return [Violation("exported_symbol", shown(extra), f"exports {len(extra)} symbol(s) outside its API "
                      f"({allowed}): {shown(extra)}", policy.fix("exported_symbol"), limit=f"only {allowed}")] if extra else []


