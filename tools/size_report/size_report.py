"""What each part of a standalone binary costs in its executable (docs/size_report.md).

Every byte of the file is attributed to one part, so the parts add up to the file size exactly:

- the loaded sections, input section by input section, from the linker's map (a second link of
  the same command line with `--print-map`, checked against the executable's section headers);
- archive members to the interpreter or to the built-in extension module whose code alone
  reaches them (symbol references, read with pyelftools);
- the packed resources entry by entry (the blob read from the executable with
  tools/formats/resources.py), named by the module report: the stdlib by top-level package, the
  application, each PyPI package, the runtime's own modules;
- the rest (ELF headers, linker tables, merged constants, padding) to named overhead parts.

    size_report.py --executable BIN --link-map BIN.rps/link.map --module-report BIN.modules.json \\
        --python-json DIST/PYTHON.json [--library-dir DIR ...] --svg BIN.size.svg --text BIN.size.txt \\
        [--title TITLE]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import io
import json
import os
import pathlib
import re
import sys
from typing import Iterable

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from tools.formats import resources
from tools.formats import python_json
from tools.size_report import treemap

# The groups of the picture, in the legend's order, with their colours.
INTERPRETER = "interpreter (CPython core and its libraries)"
EXTENSIONS = "built-in extension modules (with their libraries)"
STDLIB = "standard library (packed)"
APPLICATION = "application (packed)"
PACKAGES = "PyPI packages (packed)"
RUNTIME = "start-up runtime (rules_py_standalone, C runtime)"
OVERHEAD = "ELF overhead, linker-made sections, padding"
GROUP_COLORS = {
    INTERPRETER: "#4e79a7",
    EXTENSIONS: "#a0cbe8",
    STDLIB: "#59a14f",
    APPLICATION: "#f28e2b",
    PACKAGES: "#edc948",
    RUNTIME: "#b07aa1",
    OVERHEAD: "#bab0ac",
}

# The section emit.py gives the packed resources (tools/emit: rps_resources).
RESOURCES_SECTION = ".rodata.rps_resources"
# Sections the linker makes for dynamic linking (the part of "<internal>" that is not data).
_DYNAMIC_SECTIONS = re.compile(r"^\.(interp|dynsym|dynstr|hash|gnu\.hash|gnu\.version.*|rela?\..*|plt.*|got.*|dynamic|relro_padding)$")
_MERGED_SECTIONS = re.compile(r"^\.rodata\.(str|cst)")
# A map line: VMA, LMA, size, alignment (hex, hex, hex, decimal), then the output section
# (1 space), an input section (9 spaces) or a symbol (17 spaces).
_MAP_LINE = re.compile(r"^\s*([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\d+) (\s*)(\S.*)$")
_MAP_HEADER = re.compile(r"^\s*VMA\s+LMA\s+Size\s+Align\s+Out\s+In\s+Symbol\s*$")
_ARCHIVE_MEMBER = re.compile(r"^(.*\.a)\((.*)\)$")
_INIT_PREFIX = "PyInit_"
_RUNTIME_C = "rules_py_standalone runtime (C)"  # with the inittab and the stamp


class SizeReportError(Exception):
    """An input is missing, unreadable or does not describe this executable; the message says which."""


@dataclasses.dataclass(frozen=True)
class InputSection:
    output: str   # the output section it is in
    address: int
    size: int
    source: str   # as the map names it: a path, "archive.a(member.o)", or "<internal>"
    section: str  # its name in the input file


@dataclasses.dataclass(frozen=True)
class LinkMap:
    outputs: dict[str, tuple[int, int]]  # output section -> (address, size)
    inputs: list[InputSection]


@dataclasses.dataclass(frozen=True)
class Part:
    group: str
    name: str
    size: int
    detail: str = ""


def parse_link_map(text: str, origin: str) -> LinkMap:
    """lld's map (`--print-map`): output sections and the input sections in each."""
    lines = text.splitlines()
    if not lines or not _MAP_HEADER.match(lines[0]):
        raise SizeReportError(f"{origin}: not a linker map (lld --print-map output starts with "
                              "'VMA LMA Size Align Out In Symbol')")
    outputs: dict[str, tuple[int, int]] = {}
    inputs: list[InputSection] = []
    current = None
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        match = _MAP_LINE.match(line)
        if not match:
            raise SizeReportError(f"{origin}:{number}: not a line of a linker map: {line[:120]!r}")
        address, size, indent, text_part = int(match[1], 16), int(match[3], 16), len(match[5]), match[6]
        if indent == 0:
            current = text_part
            outputs[current] = (address, size)
        elif indent == 8:
            if current is None:
                raise SizeReportError(f"{origin}:{number}: an input section before any output section")
            source, colon, section = text_part.rpartition(":(")
            if not colon or not section.endswith(")"):
                raise SizeReportError(f"{origin}:{number}: cannot read the input section {text_part[:120]!r}")
            inputs.append(InputSection(current, address, size, source, section[:-1].split("+", 1)[0]))
        # Deeper lines are symbols: the input sections hold their bytes already.
    return LinkMap(outputs, inputs)


def archive_members(path: str) -> dict[str, bytes]:
    """The members of a System V / GNU `ar` archive by name (a name seen twice: the bytes joined)."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as e:
        raise SizeReportError(f"cannot read the archive {path} that the link map names: {e}") from None
    if not data.startswith(b"!<arch>\n"):
        raise SizeReportError(f"{path}: not an ar archive")
    members: dict[str, bytes] = {}
    long_names = b""
    position = 8
    while position + 60 <= len(data):
        header = data[position:position + 60]
        try:
            name, size = header[:16].decode("ascii").rstrip(), int(header[48:58])
        except ValueError:
            raise SizeReportError(f"{path}: damaged archive member header at offset {position}") from None
        body = data[position + 60:position + 60 + size]
        position += 60 + size + (size & 1)
        if name in ("/", "/SYM64/"):
            continue
        if name == "//":
            long_names = body
            continue
        if name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            name = long_names[start:long_names.index(b"\n", start)].decode("utf-8", "replace")
        members[name.rstrip("/")] = members.get(name.rstrip("/"), b"") + body
    return members


@dataclasses.dataclass
class _ObjectSymbols:
    defined: set[str]
    undefined: set[str]


def _object_symbols(data: bytes) -> _ObjectSymbols | None:
    """The global symbols an ELF object defines and needs; None for anything else (LLVM
    bitcode of an LTO build, whose code the linker compiles and the map shows as one file)."""
    try:
        elf = ELFFile(io.BytesIO(data))
    except ELFError:
        return None
    symbols = _ObjectSymbols(set(), set())
    table = elf.get_section_by_name(".symtab")
    for symbol in table.iter_symbols() if table is not None else ():
        if symbol["st_info"]["bind"] == "STB_LOCAL" or not symbol.name:
            continue
        (symbols.undefined if symbol["st_shndx"] == "SHN_UNDEF" else symbols.defined).add(symbol.name)
    return symbols


def _file_symbols(path: str) -> _ObjectSymbols | None:
    try:
        return _object_symbols(pathlib.Path(path).read_bytes())
    except OSError as e:
        raise SizeReportError(f"cannot read the object {path} that the link map names: {e}") from None


def _is_toolchain_file(source: str, distribution_prefixes: tuple[str, ...]) -> bool:
    """zig's C runtime (crt1.o, libc_nonshared.a, compiler_rt: built in zig's cache, an absolute
    path) and the toolchain's own objects (libm_forward.o, from an external repository); a
    python-build-standalone distribution is an external repository too, but not the toolchain's."""
    return not source.startswith(distribution_prefixes) and (source.startswith("/") or source.startswith("external/"))


def owners_of(nodes: dict[str, _ObjectSymbols], roots: Iterable[str]) -> dict[str, set[str]]:
    """Who needs each linked object: "" for the interpreter, module names for the rest.

    `nodes` are the linked objects and archive members by their map name. The interpreter's are
    those reached by symbol references from `roots` (the runtime's objects); a module's are
    those its PyInit_<module> object reaches without passing through the interpreter's.
    References to PyInit_* are not followed: modules are reached through the inittab, by name."""
    definer: dict[str, str] = {}
    for key in sorted(nodes):
        for name in nodes[key].defined:
            definer.setdefault(name, key)

    def reach(starts: Iterable[str], stop: set[str]) -> set[str]:
        seen = set(starts) - stop
        queue = list(seen)
        while queue:
            key = queue.pop()
            for name in nodes[key].undefined:
                target = definer.get(name)
                if target is not None and not name.startswith(_INIT_PREFIX) and target not in seen and target not in stop:
                    seen.add(target)
                    queue.append(target)
        return seen

    interpreter = reach(roots, set())
    owners: dict[str, set[str]] = collections.defaultdict(set)
    for key in interpreter:
        owners[key].add("")
    for key in sorted(nodes):
        for name in sorted(nodes[key].defined):
            if name.startswith(_INIT_PREFIX) and key not in interpreter:
                for reached in reach([key], interpreter):
                    owners[reached].add(name[len(_INIT_PREFIX):])
    return owners


def attribute_code(link_map: LinkMap, dist: python_json.Distribution, library_dirs: list[str],
                   in_file: set[str]) -> tuple[list[Part], list[InputSection]]:
    """Parts for the linked code and data in the loaded sections named `in_file` (.bss and
    .tbss take no bytes of the file), from the map's input sections and the objects' symbols;
    the input sections of the packed resources are returned apart.

    Objects and archives under `library_dirs` are the distribution's (python-build-standalone
    links CPython's objects, not an archive); other objects are the runtime's, whose references
    say what the interpreter is."""
    prefixes = tuple(d.rstrip("/") + "/" for d in library_dirs)
    nodes: dict[str, _ObjectSymbols] = {}
    roots = []
    archives: dict[str, dict[str, bytes]] = {}
    for item in link_map.inputs:
        source = item.source
        if source in nodes or source == "<internal>" or _is_toolchain_file(source, prefixes):
            continue
        member = _ARCHIVE_MEMBER.match(source)
        if member:
            archive, name = member[1], member[2]
            if archive not in archives:
                archives[archive] = archive_members(archive)
            if name not in archives[archive]:
                raise SizeReportError(f"the link map names {name} in {archive}, which has no such member")
            symbols = _object_symbols(archives[archive][name])
        else:
            symbols = _file_symbols(source)
            if not source.startswith(prefixes):
                roots.append(source)
        if symbols is not None:
            nodes[source] = symbols
    owners = owners_of(nodes, roots)

    libpython = dist.core_static_lib
    parts: collections.Counter[tuple[str, str]] = collections.Counter()
    details: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    blob_inputs = []
    for item in link_map.inputs:
        if item.output not in in_file:
            continue
        if item.section == RESOURCES_SECTION:
            blob_inputs.append(item)
            continue
        source = item.source
        member = _ARCHIVE_MEMBER.match(source)
        archive = member[1] if member else None
        if source == "<internal>":
            if _MERGED_SECTIONS.match(item.section):
                key = (OVERHEAD, "merged C strings, constants")  # of all C code: the linker merges them
            elif _DYNAMIC_SECTIONS.match(item.section):
                key = (OVERHEAD, "dynamic linking tables")
            elif item.section == ".eh_frame_hdr":
                key = (OVERHEAD, "unwind table index")
            else:
                key = (OVERHEAD, f"linker-made {item.section}")
            where = item.section
        elif _is_toolchain_file(source, prefixes):
            key = (RUNTIME, "C runtime (zig)")  # crt1.o, libc_nonshared.a, compiler_rt, libm_forward.o
            where = os.path.basename(archive or source)
        elif source in roots:
            key = (RUNTIME, _RUNTIME_C)
            where = os.path.basename(source)
        elif source not in nodes:
            where = os.path.basename(archive or source)
            key = (INTERPRETER, f"code the linker compiled from LLVM bitcode ({where}, LTO)")
        else:
            who = owners.get(source, set())
            where = os.path.basename(archive or source)
            # libpython's members, or the objects it is made of (python-build-standalone's core.objs).
            is_core = archive is None or (libpython is not None and archive.endswith("/" + libpython))
            if "" in who:
                key = (INTERPRETER, "CPython core (libpython)" if is_core else f"{where} (used by the interpreter or the runtime)")
                where = member[2] if member and is_core else where
            elif len(who) == 1:
                key = (EXTENSIONS, next(iter(who)))
            elif who:
                key = (EXTENSIONS, "shared by " + ", ".join(sorted(who)))
            else:
                key = (INTERPRETER, f"{where} (reached by no module's code)")
        parts[key] += item.size
        details[key][where] += item.size
    result = [Part(group, name, size, _detail(details[(group, name)])) for (group, name), size in parts.items()]
    return result, blob_inputs


def _detail(counts: collections.Counter[str], limit: int = 8) -> str:
    lines = [f"{where}: {size:,} bytes" for where, size in counts.most_common(limit)]
    if len(counts) > limit:
        rest = sum(size for _, size in counts.most_common()[limit:])
        lines.append(f"{len(counts) - limit} more: {rest:,} bytes")
    return "\n".join(lines)


def _report_entries(report: dict, origin: str) -> dict[tuple[str, str], dict]:
    entries = {}
    for table in resources.TABLES:
        listed = report.get(table)
        if not isinstance(listed, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in listed):
            raise SizeReportError(f"{origin}: '{table}' is not a list of entries with a name; is it a module report of tools/pack?")
        for entry in listed:
            entries[(table, entry["name"])] = entry
    return entries


def _entry_part(table: str, name: str, origin: str, wheels: dict[str, str]) -> tuple[str, str]:
    top = name.split("/", 1)[0].split(".", 1)[0] if table in ("modules", "resources") else name.split("/", 1)[0]
    if origin.startswith("<stdlib>/"):
        return STDLIB, top
    if origin.startswith("<rules_py_standalone>/"):
        return RUNTIME, "rules_py_standalone runtime (Python)"
    wheel = origin.split("/", 1)[0]
    if wheel in wheels:
        return PACKAGES, wheels[wheel]
    return APPLICATION, top


def _payload_kind(table: str, flags: int) -> str:
    """What a payload is, for the tooltips."""
    if table == "modules":
        return "extension modules (shared objects)" if flags & resources.EXTENSION else "bytecode and sources"
    return {"resources": "package data", "metadata": "distribution metadata", "libraries": "vendored libraries"}[table]


def attribute_resources(blob: bytes, report: dict, origin: str) -> list[Part]:
    """Parts for the packed resources: each entry's stored payloads (a payload two entries share
    counts once), the index, the zstd dictionary, and the alignment padding between payloads."""
    try:
        view = resources.Blob(blob)
    except resources.FormatError as e:
        raise SizeReportError(f"the executable's packed resources cannot be read: {e}") from None
    if report.get("blob_size") != len(blob):
        raise SizeReportError(f"{origin}: blob_size {report.get('blob_size')} is not the executable's packed resources' "
                              f"{len(blob)} bytes; the module report is of another build")
    entries = _report_entries(report, origin)
    wheels = {p["wheel"]: f"{p['dist']} {p.get('version', '')}".strip()
              for p in report.get("packages", []) if isinstance(p, dict) and "wheel" in p and "dist" in p}
    sizes: collections.Counter[tuple[str, str]] = collections.Counter()
    counts: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    seen: set[int] = set()
    stored = 0
    for table in resources.TABLES:
        # A payload two names share (a main module is also importable by its path's dotted
        # name) counts for the shorter name.
        for record in sorted(view.tables[table], key=lambda r: (r.name.count("."), r.name)):
            entry = entries.get((table, record.name))
            if entry is None:
                raise SizeReportError(f"{origin}: no {table} entry {record.name!r}, which the executable packs; "
                                      "the module report is of another build")
            key = _entry_part(table, record.name, str(entry.get("origin", "")), wheels)
            for offset, length in ((record.data_offset, record.data_length), (record.source_offset, record.source_length)):
                if length and offset not in seen:
                    seen.add(offset)
                    sizes[key] += length
                    stored += length
                    counts[key][_payload_kind(table, record.flags)] += length
    index_end = resources.HEADER.unpack_from(blob)[11]  # the header's index_end
    parts = [Part(group, name, size, _detail(counts[(group, name)])) for (group, name), size in sizes.items()]
    parts.append(Part(OVERHEAD, "resources index", index_end, "packed resources: header, entry tables, names"))
    dictionary_length = view.dictionary[1]
    if dictionary_length:
        parts.append(Part(OVERHEAD, "zstd dictionary", dictionary_length, "packed resources: shared by the compressed modules"))
    parts.append(Part(OVERHEAD, "resources padding", len(blob) - index_end - stored - dictionary_length,
                      "packed resources: payloads start on 16-byte boundaries"))
    return parts


@dataclasses.dataclass(frozen=True)
class _Section:
    name: str
    offset: int
    size: int  # bytes in the file (0 for SHT_NOBITS)
    address: int
    loaded: bool


def _sections(elf: ELFFile) -> list[_Section]:
    return [
        _Section(s.name, s["sh_offset"], 0 if s["sh_type"] == "SHT_NOBITS" else s["sh_size"], s["sh_addr"],
                 bool(s["sh_flags"] & 0x2))  # SHF_ALLOC
        for s in elf.iter_sections() if s["sh_type"] != "SHT_NULL"
    ]


def _unloaded_part(name: str) -> str:
    if name.startswith((".debug", ".zdebug")):
        return "debug information"
    if name in (".symtab", ".strtab"):
        return "symbol table"
    return "section names, comments"


def attribute(executable: str, link_map: LinkMap, dist: python_json.Distribution, library_dirs: list[str],
              report: dict, report_origin: str) -> list[Part]:
    """Every byte of `executable` in exactly one part (docs/size_report.md)."""
    try:
        data = pathlib.Path(executable).read_bytes()
        elf = ELFFile(io.BytesIO(data))
        sections = _sections(elf)
    except OSError as e:
        raise SizeReportError(f"cannot read the executable {executable}: {e}") from None
    except ELFError as e:
        raise SizeReportError(f"{executable}: not an ELF file ({e})") from None
    by_output: dict[str, list[InputSection]] = collections.defaultdict(list)
    for item in link_map.inputs:
        by_output[item.output].append(item)
    for section in sections:
        if section.loaded and section.size and link_map.outputs.get(section.name) != (section.address, section.size):
            raise SizeReportError(
                f"the link map does not describe {executable}: its section {section.name} is {section.size} bytes at "
                f"{section.address:#x}, the map says (address, size) = {link_map.outputs.get(section.name)}; "
                "were they linked alike?")
    parts, blob_inputs = attribute_code(link_map, dist, library_dirs, {s.name for s in sections if s.loaded and s.size})
    covered = 0
    for section in sections:
        covered += section.size
        if not section.loaded:
            parts.append(Part(OVERHEAD, _unloaded_part(section.name), section.size, section.name))
        elif section.size:
            inside = sum(item.size for item in by_output[section.name])
            parts.append(Part(OVERHEAD, "padding inside sections", section.size - inside, section.name))
    ordered = sorted((s for s in sections if s.size), key=lambda s: s.offset)
    for before, after in zip(ordered, ordered[1:]):
        if before.offset + before.size > after.offset:
            raise SizeReportError(f"{executable}: sections {before.name} and {after.name} overlap in the file")
    headers = elf["e_ehsize"] + elf["e_phnum"] * elf["e_phentsize"] + elf["e_shnum"] * elf["e_shentsize"]
    gaps = len(data) - covered
    parts.append(Part(OVERHEAD, "ELF headers", headers, "ELF header, program headers, section headers"))
    parts.append(Part(OVERHEAD, "page alignment", gaps - headers, "between the segments, in the file"))

    # The stamp (tools/stamp) is written like the resources, in a section of the same name.
    found = []
    for item in blob_inputs:
        holder = next((s for s in sections if s.name == item.output and s.size), None)
        if holder is None:
            raise SizeReportError(f"{executable}: no section {item.output} holds {item.source}'s {item.section}")
        start = holder.offset + item.address - holder.address
        if data[start:start + len(resources.MAGIC)] == resources.MAGIC:
            found.append((item, start))
        else:
            parts.append(Part(RUNTIME, _RUNTIME_C, item.size, os.path.basename(item.source)))
    if len(found) != 1:
        raise SizeReportError(f"{executable}: {len(found)} sections {RESOURCES_SECTION} hold packed resources; a "
                              "standalone executable has one (tools/emit)")
    blob_input, start = found[0]
    blob_size = int.from_bytes(data[start + 16:start + 24], "little")  # the header's blob_size
    if blob_size > blob_input.size:
        raise SizeReportError(f"{executable}: the packed resources at file offset {start} say they are {blob_size} "
                              f"bytes, more than their section's {blob_input.size}")
    parts += attribute_resources(data[start:start + blob_size], report, report_origin)
    parts.append(Part(RUNTIME, _RUNTIME_C, blob_input.size - blob_size, "rps_resources_size"))

    merged: collections.OrderedDict[tuple[str, str], Part] = collections.OrderedDict()
    for part in parts:
        key = (part.group, part.name)
        if key in merged:
            old = merged[key]
            detail = "\n".join(d for d in (old.detail, part.detail) if d)
            merged[key] = Part(part.group, part.name, old.size + part.size, detail)
        else:
            merged[key] = part
    result = sorted((p for p in merged.values() if p.size), key=lambda p: (-p.size, p.group, p.name))
    negative = [p for p in merged.values() if p.size < 0]
    if negative or sum(p.size for p in result) != len(data):
        raise SizeReportError(f"internal error: the parts of {executable} add up to {sum(p.size for p in result)} "
                              f"bytes, the file has {len(data)} ({negative})")
    return result


def text_report(title: str, parts: list[Part], total: int) -> str:
    """The parts as a table, largest first, then the groups' totals."""
    lines = [f"{title}: {total:,} bytes ({treemap.human_size(total)})", "",
             f"{'bytes':>12}  {'share':>7}  {'group':<50}  part"]
    for part in parts:
        lines.append(f"{part.size:>12,}  {treemap.share(part.size, total):>7}  {part.group:<50}  {part.name}")
    lines += ["", f"{'bytes':>12}  {'share':>7}  group"]
    groups = collections.Counter()
    for part in parts:
        groups[part.group] += part.size
    for group in GROUP_COLORS:
        if groups[group]:
            lines.append(f"{groups[group]:>12,}  {treemap.share(groups[group], total):>7}  {group}")
    lines.append(f"{sum(groups.values()):>12,}  {treemap.share(sum(groups.values()), total):>7}  total")
    return "\n".join(lines) + "\n"


def svg_report(title: str, parts: list[Part], total: int) -> str:
    groups = [
        treemap.Group(group, color, [treemap.Box(p.name, p.size, p.detail) for p in parts if p.group == group])
        for group, color in GROUP_COLORS.items()
    ]
    return treemap.render_svg(title, [g for g in groups if g.boxes], total)


def _read_report(path: str) -> dict:
    try:
        report = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SizeReportError(f"cannot read the module report {path}: {e}") from None
    if not isinstance(report, dict) or not str(report.get("format", "")).startswith("rps-pack-report-"):
        raise SizeReportError(f"{path}: not a module report of tools/pack (no 'format': 'rps-pack-report-N')")
    return report


def _read_map(path: str) -> LinkMap:
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SizeReportError(f"cannot read the link map {path}: {e}") from None
    return parse_link_map(text, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executable", required=True, help="the linked standalone executable")
    parser.add_argument("--link-map", required=True, help="the linker's map of the same link (lld --print-map)")
    parser.add_argument("--module-report", required=True, help="<name>.modules.json, the report of tools/pack")
    parser.add_argument("--python-json", required=True, help="the distribution's PYTHON.json")
    parser.add_argument("--library-dir", action="append", default=[],
                        help="a directory of the distribution's objects and archives besides PYTHON.json's "
                             "(tools/hide_symbols' copies)")
    parser.add_argument("--title", help="the picture's title (default: the executable's file name)")
    parser.add_argument("--svg", required=True, help="where to write the treemap")
    parser.add_argument("--text", required=True, help="where to write the table")
    args = parser.parse_args(argv)
    title = args.title or os.path.basename(args.executable)
    try:
        dist = python_json.load(pathlib.Path(args.python_json), check_paths=False)
        library_dirs = [os.path.dirname(args.python_json)] + args.library_dir
        parts = attribute(args.executable, _read_map(args.link_map), dist, library_dirs,
                          _read_report(args.module_report), args.module_report)
    except (python_json.PythonJsonError, SizeReportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    total = os.path.getsize(args.executable)
    with open(args.svg, "w", encoding="utf-8") as f:
        f.write(svg_report(title, parts, total))
    with open(args.text, "w", encoding="utf-8") as f:
        f.write(text_report(title, parts, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
