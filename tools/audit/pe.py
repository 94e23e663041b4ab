"""The PE half of the audit: a Windows program's machine, subsystem, imported DLLs and DLL
characteristics, read with pefile (imported on first use), checked against a policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.audit.policy import AuditError, Policy, Violation, builtin_policies, pefile_module, shown

if TYPE_CHECKING:
    import pefile

# pefile's data directory, the attribute it parses it into, and how a report names it.
_PE_IMPORTS = (
    ("IMAGE_DIRECTORY_ENTRY_IMPORT", "DIRECTORY_ENTRY_IMPORT", "import"),
    ("IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT", "DIRECTORY_ENTRY_DELAY_IMPORT", "delay-load import"),
)


def choose_pe_policy(machine: str) -> tuple[Policy, str]:
    candidates = [p for p in builtin_policies("pe") if p.machine == machine]
    if len(candidates) != 1:
        problem = "no built-in policy" if not candidates else "more than one built-in policy"
        raise AuditError(f"{problem} for PE {machine}; name one with --policy")
    return candidates[0], f"chosen from the file: PE {machine}"


def _decode(name: bytes | None) -> str:
    return name.decode("ascii", "replace") if name else ""


def read_pe(path: str, size: int) -> pefile.PE:
    pefile = pefile_module()
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


def check_pe(pe: pefile.PE, policy: Policy) -> tuple[list[Violation], dict[str, Any], str]:
    pefile = pefile_module()
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
            listed = dll if what == "import" else f"{dll} (delay-loaded)"
            dlls[listed] = dll
            imports.setdefault(listed, []).extend(_decode(i.name) or f"#{i.ordinal}" for i in entry.imports)
    allowed = ", ".join(policy.allowed_libraries + policy.added_libraries)
    for listed, names in imports.items():
        if not policy.allows_library(dlls[listed]):
            origin = f"functions imported from it: {shown(names)}" if names else None
            add("dll", dlls[listed], f"imports {listed}, which is not in policy {policy.name}'s allowed DLLs ({allowed})"
                + (f"; {origin}" if origin else ""), origin=origin, limit=f"allowed: {allowed}")
    facts = {
        "libraries": list(imports),
        "subsystem": subsystem,
        "dll_characteristics": sorted(n for n, v in pefile.DLL_CHARACTERISTICS.items()
                                      if isinstance(n, str) and characteristics & v),
    }
    return violations, facts, machine


