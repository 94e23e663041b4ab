"""Inspects the shared objects of a wheel: which are extension modules, which libraries each one
loads (in the order the runtime must load them from memory), and the audit of every one.

A binary loads no file from disk, so the `$ORIGIN` RPATHs that auditwheel gives extension
modules never apply: the runtime loads a wheel's vendored libraries (`<pkg>.libs/`) itself,
each after the ones it needs, and glibc then matches the extension module's DT_NEEDED entries
against them by soname. The order comes from the DT_NEEDED entries read here.

    inspect_wheel.py WHEEL --policy linux_x86_64_gnu --out wheel.json

Output (read by tools/compile):
    {"wheel": filename, "extensions": {member: [library member, ...]}, "libraries": {member: soname},
     "cycle_patches": {library member: [[file offset, length, library name], ...]}}
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import sys
import tempfile
import zipfile

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from tools.audit import audit
from tools.wheel.layout import installed_path, is_extension_module

_ELF_MAGIC = b"\x7fELF"


class WheelError(Exception):
    pass


def _dynamic(data: bytes, member: str) -> tuple[str | None, list[str]]:
    """(DT_SONAME, DT_NEEDED) of an ELF shared object."""
    try:
        elf = ELFFile(io.BytesIO(data))
        soname, needed = None, []
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                for tag in section.iter_tags():
                    if tag.entry.d_tag == "DT_NEEDED":
                        needed.append(tag.needed)
                    elif tag.entry.d_tag == "DT_SONAME":
                        soname = tag.soname
        return soname, needed
    except (ELFError, ValueError, OSError) as e:
        raise WheelError(f"{member}: not a readable ELF shared object ({e})") from None


def _defines_module_init(data: bytes, member: str) -> bool:
    """Whether the shared object exports a module init function (PyInit_<name>, PyInitU_<name>
    for non-ASCII names, PEP 793's PyModExport_<name>)."""
    try:
        elf = ELFFile(io.BytesIO(data))
        symbols = elf.get_section_by_name(".dynsym")
        if symbols is None:
            return False
        return any(symbol.name.startswith(("PyInit_", "PyInitU_", "PyModExport_")) and symbol["st_shndx"] != "SHN_UNDEF"
                   for symbol in symbols.iter_symbols())
    except (ELFError, ValueError, OSError) as e:
        raise WheelError(f"{member}: not a readable ELF shared object ({e})") from None


# What manylinux (PEP 599, PEP 600) lets a wheel's shared objects need from the system besides
# libc: the GCC runtime libraries every such system has, at the versions of its glibc floor's
# manylinux (manylinux2014: GCC 4.8's; manylinux_2_28: GCC 8's), as auditwheel's policies say.
MANYLINUX_LIBRARIES = ("libgcc_s.so.1", "libstdc++.so.6", "libz.so.1", "libnsl.so.1", "libresolv.so.2",
                       "libcrypt.so.1", "libutil.so.1", "libexpat.so.1")
MANYLINUX_VERSIONS = {
    "2.17": {"GLIBCXX": "3.4.19", "CXXABI": "1.3.7", "GCC": "4.8.0", "CXXABI_TM": "1"},
    "2.28": {"GLIBCXX": "3.4.24", "CXXABI": "1.3.11", "GCC": "7.0.0", "CXXABI_TM": "1"},
}


def wheel_policy(policy: audit.Policy) -> audit.Policy:
    """The binary's policy as it applies to the shared objects of a wheel it loads at run time.

    The machine, the glibc floor and DT_NEEDED still hold; the system C++ runtime is allowed at
    the versions of the floor's manylinux (the process loads it, the binary does not link it);
    auditwheel's RPATH and lazy binding are harmless (the runtime loads every dependency itself)."""
    floor = policy.max_symbol_versions.get("GLIBC", "2.17")
    if floor not in MANYLINUX_VERSIONS:
        raise WheelError(f"policy {policy.name}: no manylinux C++ runtime versions known for glibc {floor}")
    return dataclasses.replace(
        policy,
        allowed_libraries=policy.allowed_libraries + MANYLINUX_LIBRARIES,
        forbidden_symbol_versions=(),
        max_symbol_versions={**MANYLINUX_VERSIONS[floor], **policy.max_symbol_versions},
        require={k: False for k in ("no_rpath", "relro", "bind_now", "no_textrel", "no_wx_segments", "no_exec_stack")},
    )


def _edges(objects: dict[str, tuple[str | None, list[str]]], extensions: list[str]) -> dict[str, list[str]]:
    """member -> the wheel's libraries its DT_NEEDED entries name (by soname, else file name)."""
    by_name: dict[str, str] = {}
    for member, (soname, _) in objects.items():
        if member in extensions:
            continue
        by_name.setdefault(os.path.basename(member), member)
        if soname:
            by_name[soname] = member
    return {member: [by_name[n] for n in needed if n in by_name] for member, (_, needed) in objects.items()}


def _components(edges: dict[str, list[str]], root: str) -> list[list[str]]:
    """Tarjan's strongly connected components reachable from root, each after the ones it needs."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(member: str) -> None:
        index[member] = low[member] = len(index)
        stack.append(member)
        on_stack.add(member)
        for other in edges[member]:
            if other not in index:
                visit(other)
                low[member] = min(low[member], low[other])
            elif other in on_stack:
                low[member] = min(low[member], index[other])
        if low[member] == index[member]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == member:
                    break
            found.append(sorted(component))

    visit(root)
    return found


def load_orders(objects: dict[str, tuple[str | None, list[str]]], extensions: list[str]) -> dict[str, list[str]]:
    """For each extension module, the wheel's libraries it needs, each after its own needs; the
    members of a DT_NEEDED cycle (freetype and harfbuzz need each other) together, after
    everything the cycle needs (see `cycle_patches`)."""
    edges = _edges(objects, extensions)
    return {extension: [m for component in _components(edges, extension) for m in component if m != extension]
            for extension in extensions}


def cycle_patches(objects: dict[str, tuple[str | None, list[str]]], extensions: list[str],
                  datas: dict[str, bytes]) -> dict[str, list[list]]:
    """For each library in a DT_NEEDED cycle: [file offset, length, library] of every DT_NEEDED
    string that names another member of its cycle.

    glibc loads a library only after finding every DT_NEEDED one, by soname among the loaded
    objects or by path. In a cycle one member is always not loaded yet, and a memory file has no
    directory to search, so the runtime writes each such string over with the /proc/self/fd path
    of that member's memory file and loads the cycle with one dlopen (docs/resources-format.md)."""
    edges = _edges(objects, extensions)
    patches: dict[str, list[list]] = {}
    components = {tuple(c) for extension in extensions for c in _components(edges, extension) if len(c) > 1}
    for component in sorted(components):
        for member in component:
            soname_of = {objects[m][0] or os.path.basename(m): m for m in component if m != member}
            for needed, offset in _needed_offsets(datas[member], member):
                if needed in soname_of:
                    patches.setdefault(member, []).append([offset, len(needed.encode()), os.path.basename(soname_of[needed])])
    return patches


def _needed_offsets(data: bytes, member: str) -> list[tuple[str, int]]:
    """(DT_NEEDED string, its file offset) of an ELF shared object."""
    try:
        elf = ELFFile(io.BytesIO(data))
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                tags = list(section.iter_tags())
                strtab = next(t.entry.d_val for t in tags if t.entry.d_tag == "DT_STRTAB")
                offsets = list(elf.address_offsets(strtab))
                if not offsets:
                    raise WheelError(f"{member}: DT_STRTAB at {strtab:#x} is in no loaded segment")
                return [(t.needed, offsets[0] + t.entry.d_val) for t in tags if t.entry.d_tag == "DT_NEEDED"]
    except (ELFError, ValueError, OSError, StopIteration) as e:
        raise WheelError(f"{member}: not a readable ELF shared object ({e})") from None
    return []


def inspect(wheel_path: str, policy_name: str) -> dict:
    try:
        archive = zipfile.ZipFile(wheel_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise WheelError(f"{wheel_path}: not a readable wheel (zip): {e}") from None
    name = os.path.basename(wheel_path)
    objects: dict[str, tuple[str | None, list[str]]] = {}
    problems: list[str] = []
    policy = wheel_policy(audit.load_policy(policy_name))
    datas: dict[str, bytes] = {}
    with archive, tempfile.TemporaryDirectory() as scratch:
        for info in archive.infolist():
            path = installed_path(info.filename)
            if path is None or info.is_dir() or not (path.endswith(".so") or ".so." in os.path.basename(path)):
                continue
            data = archive.read(info)
            if not data.startswith(_ELF_MAGIC):
                continue
            objects[path] = _dynamic(data, f"{name}: {info.filename}")
            datas[path] = data
        vendored = {soname or os.path.basename(m) for m, (soname, _) in objects.items() if not is_extension_module(m)}
        vendored |= {os.path.basename(m) for m in objects}
        for path, data in sorted(datas.items()):
            local = os.path.join(scratch, "object.so")
            with open(local, "wb") as f:
                f.write(data)
            report = audit.audit(local, policy, allow_libraries=sorted(vendored))
            for violation in report.violations:
                problems.append(f"{name}: {path}: {violation.message} (fix: {violation.fix})")
    if problems:
        raise WheelError("the wheel's shared objects break the target platform's audit policy "
                         f"{policy_name} (docs/audit.md):\n  " + "\n  ".join(problems))
    # A shared object named like a module but without a module init function is a library that
    # the package loads itself (ctypes, cffi: soundfile's _soundfile_data/libsndfile_x86_64.so):
    # it is packed as a file at its path, where the runtime's dlopen() finds it.
    extensions = sorted(m for m in objects if is_extension_module(m) and _defines_module_init(datas[m], f"{name}: {m}"))
    return {
        "wheel": name,
        "extensions": load_orders(objects, extensions),
        "cycle_patches": cycle_patches(objects, extensions, datas),
        "libraries": {m: objects[m][0] or os.path.basename(m) for m in sorted(objects) if m not in extensions},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel")
    parser.add_argument("--policy", required=True, help="audit policy of the target platform")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        result = inspect(args.wheel, args.policy)
    except (WheelError, audit.AuditError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
