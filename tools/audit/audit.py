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
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from elftools.elf.elffile import ELFFile

from tools.audit import elf, pe
# The tool's API (tests, tools/wheel): the policy names it takes and the error it raises.
from tools.audit.policy import (  # noqa: F401
    ARCHITECTURES, POLICY_DIR, AuditError, Policy, Violation, builtin_policy_names, is_policy_path, load_policy,
    parse_policy, pefile_module,
)

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2
JSON_VERSION = 1


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
        return ARCHITECTURES.get(self.machine, self.machine)

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
                facts = elf.read_elf(ELFFile(stream), size, path)
            except AuditError:
                raise
            except Exception as err:  # pyelftools raises assorted errors on malformed input
                raise AuditError(f"{path}: truncated or corrupt ELF file ({type(err).__name__}: {err})") from err
            if named is None:
                named, chosen_by = elf.choose_elf_policy(facts)
            chosen = named.with_libraries(allow_libraries)
            if chosen.format != "elf":
                raise AuditError(f"{path}: an ELF file, but policy {chosen.name} is for {chosen.format.upper()} files")
            violations, facts_out = elf.check_elf(facts, chosen)
            if exported_symbols is not None:
                try:
                    exports = elf.dynamic_exports(ELFFile(stream))
                except Exception as err:  # pyelftools raises assorted errors on malformed input
                    raise AuditError(f"{path}: corrupt dynamic symbol table ({type(err).__name__}: {err})") from err
                facts_out["exported_symbols"] = exports
                violations += elf.check_exports(exports, list(exported_symbols), chosen)
        return Report(path, kind, facts.machine, chosen, chosen_by, facts_out, violations)

    pefile = pefile_module()
    try:
        image = pe.read_pe(path, size)
    except AuditError:
        raise
    except pefile.PEFormatError as err:
        raise AuditError(f"{path}: not a valid PE file ({err.value})") from err
    except Exception as err:  # pefile raises assorted errors on malformed input
        raise AuditError(f"{path}: truncated or corrupt PE file ({type(err).__name__}: {err})") from err
    try:
        if named is None:
            machine = pefile.MACHINE_TYPE.get(image.FILE_HEADER.Machine, f"0x{image.FILE_HEADER.Machine:x}")
            named, chosen_by = pe.choose_pe_policy(machine)
        chosen = named.with_libraries(allow_libraries)
        if chosen.format != "pe":
            raise AuditError(f"{path}: a PE file, but policy {chosen.name} is for {chosen.format.upper()} files")
        violations, facts_out, machine = pe.check_pe(image, chosen)
    finally:
        image.close()
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
    if args.policy and is_policy_path(args.policy):
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
