"""Reads a lock file of PyPI packages and chooses, per target platform and CPython version, the
wheel each package contributes to a standalone binary (docs/pypi.md).

Runs when Bazel fetches the `pypi` extension's repositories, on the host's python3 (3.11 or
newer: tomllib) with the pinned `packaging` wheel on its path. Two steps, because only Bazel may
download (its downloader honours the repository cache, --distdir and downloader configs):

    lock_reader.py files --lock requirements.txt [--format F] --out need.json
        -> {"index_pages": [package names], "indexes": [...]}: what a hashed requirements file
           leaves out (file URLs), to be looked up on the package index by the caller
    lock_reader.py plan --lock requirements.txt [--format F] --targets targets.json --hub pypi \\
        [--index-page NAME=FILE=URL ...] --out plan.json
        -> {"files": {repo: {filename, urls, sha256}}, "build_files": {path: text}}

Lock formats: pip's hashed requirements (`pip-compile --generate-hashes`, `uv pip compile
--generate-hashes`), PEP 751 `pylock.toml` and `uv.lock`, told apart by their file name unless `--format` names one.
"""

from __future__ import annotations

import argparse
import dataclasses
import html.parser
import json
import os
import re
import sys
import tomllib
import urllib.parse
from typing import Any, Iterable

from packaging import markers, tags, utils, version


class LockError(Exception):
    """Bad input; the message names the file, the package and what to do."""


@dataclasses.dataclass
class DistFile:
    filename: str
    sha256: str
    urls: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Package:
    name: str                      # normalized (PEP 503)
    version: str
    marker: str | None
    files: list[DistFile]
    deps: list[tuple[str, str | None]] | None  # (name, marker); None: the lock does not say
    line: str                      # where it is in the lock, for messages


# --- Reading lock files ---------------------------------------------------------------------

def lock_format(path: str) -> str:
    base = os.path.basename(path)
    if base == "uv.lock":
        return "uv.lock"
    if base == "pylock.toml" or (base.startswith("pylock.") and base.endswith(".toml")):
        return "pylock.toml"
    return "requirements"


def read_lock(path: str, kind: str | None = None) -> tuple[list[Package], list[str]]:
    """The packages of a lock file and the index URLs it names (requirements files only)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise LockError(f"{path}: cannot read the lock file: {e.strerror}") from None
    kind = kind or lock_format(path)
    if kind == "requirements":
        return read_requirements(raw.decode("utf-8"), path)
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise LockError(f"{path}: not a valid TOML file: {e}") from None
    return (read_uv_lock(doc, path) if kind == "uv.lock" else read_pylock(doc, path)), []


_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*(?P<version>[^\s;\\]+)\s*(;(?P<marker>[^\\]*))?")
_HASH = re.compile(r"--hash[= ]sha256:(?P<hash>[0-9a-fA-F]{64})")


def read_requirements(text: str, path: str) -> tuple[list[Package], list[str]]:
    """pip's requirements format with hashes; `# via` comments give the dependency edges."""
    packages: list[Package] = []
    indexes: list[str] = []
    via: dict[str, list[str]] = {}
    current: Package | None = None
    in_via = False
    logical: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append((start, buffer + stripped))
        buffer = ""
    if buffer:
        logical.append((start, buffer))
    for number, line in logical:
        where = f"{path}:{number}"
        if line.startswith("#"):
            comment = line[1:].strip()
            if current is None:
                continue
            if comment.startswith("via"):
                rest = comment[3:].strip()
                in_via = not rest
                if rest:
                    via.setdefault(current.name, []).append(rest)
            elif in_via and comment:
                via.setdefault(current.name, []).append(comment)
            continue
        in_via = False
        content = line.split(" #", 1)[0].strip()
        if not content:
            continue
        if content.startswith(("--index-url", "-i ", "--extra-index-url")):
            indexes.append(content.split(None, 1)[1].strip() if " " in content else content.split("=", 1)[1])
            continue
        if content.startswith("-"):
            continue  # other pip options (--no-binary, -c ...) do not change which files are locked
        match = _REQUIREMENT.match(_HASH.sub("", content).strip())
        if not match:
            raise LockError(f"{where}: {content!r} is not pinned as name==version; a lock lists every "
                            "package with == and its --hash values (pip-compile --generate-hashes, or "
                            "bazel run @rules_py_standalone//tools/lock)")
        hashes = [h.lower() for h in _HASH.findall(content)]
        if not hashes:
            raise LockError(f"{where}: {match['name']}=={match['version']} has no --hash=sha256:...; every "
                            "file is downloaded with its locked hash, so regenerate the lock with hashes "
                            "(pip-compile --generate-hashes)")
        current = Package(utils.canonicalize_name(match["name"]), match["version"],
                          (match["marker"] or "").strip() or None,
                          [DistFile("", h) for h in hashes], None, where)
        packages.append(current)
    names = {p.name for p in packages}
    if via:
        for package in packages:
            package.deps = []
        by_name = {p.name: p for p in packages}
        for child, parents in via.items():
            for parent in parents:
                parent_name = utils.canonicalize_name(parent.split()[0]) if not parent.startswith("-") else None
                if parent_name in names and parent_name != child:
                    by_name[parent_name].deps.append((child, None))
    return packages, indexes


def _sha256(entry: dict[str, Any], where: str) -> str:
    hashes = entry.get("hashes")
    if isinstance(hashes, dict) and isinstance(hashes.get("sha256"), str):
        return hashes["sha256"].lower()
    value = entry.get("hash")
    if isinstance(value, str) and value.startswith("sha256:"):
        return value[7:].lower()
    raise LockError(f"{where}: a file without a sha256 hash; regenerate the lock")


def _filename(entry: dict[str, Any]) -> str:
    name = entry.get("name") or entry.get("filename")
    if isinstance(name, str):
        return name
    url = entry.get("url") or entry.get("path") or ""
    return urllib.parse.unquote(urllib.parse.urlsplit(str(url)).path.rsplit("/", 1)[-1])


def _files(entries: Iterable[Any], where: str) -> list[DistFile]:
    files = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise LockError(f"{where}: a file entry is not a table")
        url = entry.get("url")
        files.append(DistFile(_filename(entry), _sha256(entry, where), [url] if isinstance(url, str) else []))
    return files


def _deps(entries: Any, where: str) -> list[tuple[str, str | None]]:
    if not isinstance(entries, list):
        raise LockError(f"{where}: dependencies is not an array")
    return [(utils.canonicalize_name(d["name"]), d.get("marker")) for d in entries
            if isinstance(d, dict) and isinstance(d.get("name"), str)]


def read_pylock(doc: dict[str, Any], path: str) -> list[Package]:
    """PEP 751: [[packages]] with name, version, marker, wheels (name/url/hashes), sdist."""
    lock_version = str(doc.get("lock-version", ""))
    if not lock_version.startswith("1."):
        raise LockError(f"{path}: lock-version {lock_version or '(missing)'} is not a PEP 751 1.x lock")
    packages = []
    for n, entry in enumerate(doc.get("packages", [])):
        where = f"{path}: packages[{n}] ({entry.get('name', '?')})"
        if not isinstance(entry.get("name"), str) or not isinstance(entry.get("version"), str):
            raise LockError(f"{where}: a package without name and version; a lock for a binary pins every package")
        files = _files(entry.get("wheels", []), where)
        if isinstance(entry.get("sdist"), dict):
            files += _files([entry["sdist"]], where)
        deps = _deps(entry["dependencies"], where) if "dependencies" in entry else None
        packages.append(Package(utils.canonicalize_name(entry["name"]), entry["version"], entry.get("marker"),
                                files, deps, where))
    return packages


def read_uv_lock(doc: dict[str, Any], path: str) -> list[Package]:
    """uv.lock: [[package]] with source, wheels, sdist and dependencies; the project itself
    (editable, virtual or directory source) is not a package to download."""
    if "version" not in doc or "package" not in doc:
        raise LockError(f"{path}: not a uv.lock file (no version or [[package]])")
    packages = []
    for n, entry in enumerate(doc["package"]):
        where = f"{path}: package[{n}] ({entry.get('name', '?')})"
        source = entry.get("source", {})
        if any(k in source for k in ("editable", "virtual", "directory", "path", "git")):
            continue
        if not isinstance(entry.get("version"), str):
            raise LockError(f"{where}: a registry package without a version")
        files = _files(entry.get("wheels", []), where)
        if isinstance(entry.get("sdist"), dict):
            files += _files([entry["sdist"]], where)
        # A package that uv locked in several versions says for which forks of the resolution
        # each one is (`resolution-markers`): the entry applies where any of them holds.
        forks = entry.get("resolution-markers")
        marker = " or ".join(f"({m})" for m in forks) if isinstance(forks, list) and forks else None
        packages.append(Package(utils.canonicalize_name(entry["name"]), entry["version"], marker, files,
                                _deps(entry.get("dependencies", []), where), where))
    return packages


# The index when nobody configured one; the one place this project names an index host.
DEFAULT_INDEX_URL = "https://pypi.org/simple"


def _pip_conf_indexes(env: dict[str, str]) -> tuple[list[str], list[str]]:
    """index-url and extra-index-url of pip's configuration files, in pip's order (site < user < PIP_CONFIG_FILE)."""
    import configparser
    if env.get("PIP_CONFIG_FILE") == os.devnull:
        return [], []  # as with pip: no configuration file at all
    home = env.get("HOME", "")
    xdg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    paths = ["/etc/xdg/pip/pip.conf", "/etc/pip.conf", os.path.join(home, ".pip", "pip.conf"),
             os.path.join(xdg, "pip", "pip.conf")]
    if env.get("PIP_CONFIG_FILE"):
        paths.append(env["PIP_CONFIG_FILE"])
    index: list[str] = []
    extra: list[str] = []
    for path in paths:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section in ("global", "install", "download"):
            if parser.has_option(section, "index-url"):
                index = parser.get(section, "index-url").split()
            if parser.has_option(section, "extra-index-url"):
                extra = parser.get(section, "extra-index-url").split()
    return index, extra


def configured_indexes(env: dict[str, str], lock_indexes: list[str], index_url: str | None) -> list[str]:
    """Where to look up files a hashed requirements file names only by hash: the lock's own
    --index-url/--extra-index-url lines, else the rule's index_url, else pip's configuration
    (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, pip.conf), else the default index."""
    if lock_indexes:
        return lock_indexes
    conf_index, conf_extra = _pip_conf_indexes(env)
    primary = [index_url] if index_url else env.get("PIP_INDEX_URL", "").split() or conf_index or [DEFAULT_INDEX_URL]
    extra = env.get("PIP_EXTRA_INDEX_URL", "").split() or conf_extra
    return list(dict.fromkeys(primary + extra))


_INPUT_DIGEST = re.compile(r"^# input: (?P<name>\S+) sha256=(?P<digest>[0-9a-f]{64})$", re.M)


def check_fresh(lock_path: str, input_path: str) -> None:
    """A lock written by tools/lock records its input's sha256; a different input is stale."""
    import hashlib
    try:
        with open(lock_path, encoding="utf-8") as f:
            head = f.read(4096)
        with open(input_path, "rb") as f:
            actual = hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        raise LockError(f"{e.filename}: cannot read: {e.strerror}") from None
    recorded = _INPUT_DIGEST.search(head)
    update = f"update it: bazel run @rules_py_standalone//tools/lock -- {os.path.basename(input_path)}"
    if recorded is None:
        raise LockError(f"{lock_path}: records no input sha256, so it cannot be checked against "
                        f"{os.path.basename(input_path)}; {update}")
    if recorded["digest"] != actual:
        raise LockError(f"{lock_path} is stale: it was locked from another {recorded['name']} "
                        f"(sha256 {recorded['digest'][:12]}..., now {actual[:12]}...); {update}")


# --- Package index pages (PEP 503 HTML, PEP 691 JSON) --------------------------------------

class _Links(html.parser.HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: list[tuple[str, str]] = []  # (filename, absolute url with fragment)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            url = urllib.parse.urljoin(self.base, href)
            self.links.append((urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]), url))


def index_files(page: bytes, page_url: str) -> dict[str, tuple[str, str]]:
    """sha256 -> (filename, url) of the files an index page (PEP 503 HTML or PEP 691 JSON) lists."""
    found: dict[str, tuple[str, str]] = {}
    text = page.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        for entry in json.loads(text).get("files", []):
            digest = entry.get("hashes", {}).get("sha256")
            if digest:
                found[digest.lower()] = (entry["filename"], urllib.parse.urljoin(page_url, entry["url"]))
        return found
    parser = _Links(page_url)
    parser.feed(text)
    for filename, url in parser.links:
        base, _, fragment = url.partition("#")
        if fragment.startswith("sha256="):
            found[fragment[7:].lower()] = (filename, base)
    return found


# --- Choosing wheels -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Target:
    """One configuration a binary may be built in: a platform of the platform table and a CPython."""
    platform: str       # e.g. linux_x86_64_gnu
    cpu: str            # x86_64, aarch64
    libc: str           # gnu, musl
    libc_version: str   # glibc floor (2.17) or musl version (1.2)
    python: str         # X.Y.Z

    @property
    def key(self) -> str:
        return f"{self.platform}_{self.python_xy.replace('.', '_')}"

    @property
    def python_xy(self) -> str:
        return ".".join(self.python.split(".")[:2])


def platform_tags(target: Target) -> list[str]:
    """PEP 600/656 platform tags the target runs, most specific first."""
    major, minor = (int(p) for p in target.libc_version.split(".")[:2])
    arch = target.cpu
    if target.libc == "musl":
        return [f"musllinux_{major}_{m}_{arch}" for m in range(minor, -1, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    found = []
    for m in range(minor, 4, -1):
        found.append(f"manylinux_{major}_{m}_{arch}")
        if m in legacy and (arch in ("x86_64", "i686") or m == 17):
            found.append(f"{legacy[m]}_{arch}")
    return found


def supported_tags(target: Target) -> list[tags.Tag]:
    py = tuple(int(p) for p in target.python_xy.split("."))
    interpreter = f"cp{py[0]}{py[1]}"
    platforms = platform_tags(target)
    return list(tags.cpython_tags(py, [interpreter], platforms)) + list(
        tags.compatible_tags(py, interpreter, platforms))


def marker_environment(target: Target) -> dict[str, str]:
    return {
        "implementation_name": "cpython", "implementation_version": target.python, "os_name": "posix",
        "platform_machine": target.cpu, "platform_python_implementation": "CPython", "platform_release": "",
        "platform_system": "Linux", "platform_version": "", "python_full_version": target.python,
        "python_version": target.python_xy, "sys_platform": "linux", "extra": "",
    }


def applies(marker: str | None, target: Target, where: str) -> bool:
    if not marker:
        return True
    try:
        return markers.Marker(marker).evaluate(marker_environment(target))
    except (markers.InvalidMarker, markers.UndefinedComparison, markers.UndefinedEnvironmentName) as e:
        raise LockError(f"{where}: cannot evaluate marker {marker!r}: {e}") from None


def choose_wheel(package: Package, target: Target) -> DistFile | None:
    ranking = {tag: i for i, tag in enumerate(supported_tags(target))}
    best: tuple[int, DistFile] | None = None
    for dist_file in package.files:
        if not dist_file.filename.endswith(".whl"):
            continue
        try:
            _, _, _, wheel_tags = utils.parse_wheel_filename(dist_file.filename)
        except utils.InvalidWheelFilename:
            continue
        rank = min((ranking[t] for t in wheel_tags if t in ranking), default=None)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, dist_file)
    return best[1] if best else None


def _repo_name(hub: str, filename: str) -> str:
    return hub + "__" + re.sub(r"[^A-Za-z0-9_.-]", "_", filename.lower())


def _is_compiled(filename: str) -> bool:
    _, _, _, wheel_tags = utils.parse_wheel_filename(filename)
    return any(t.platform != "any" for t in wheel_tags)


def _describe(target: Target) -> str:
    floor = f"glibc {target.libc_version}" if target.libc == "gnu" else f"musl {target.libc_version}"
    return f"{target.platform} (CPython {target.python_xy}, {target.cpu}, {floor})"


def no_wheel_message(package: Package, target: Target, chosen: dict[str, DistFile | None],
                     targets: list[Target]) -> str:
    """Why no wheel of `package` runs on `target`, and which other platforms have one."""
    wheels = [f.filename for f in package.files if f.filename.endswith(".whl")]
    text = f"no wheel of it runs on {_describe(target)}"
    if not wheels:
        return text + ": the lock has only an sdist, and a package published only as an sdist cannot be used yet."
    alternatives = [
        f"{chosen[other.key].filename} runs on {other.platform} "
        f"(--platforms=@rules_py_standalone//platforms:{other.platform})"
        for other in targets
        if other.python_xy == target.python_xy and other.key != target.key and chosen.get(other.key) is not None
        # musl binaries are fully static: a compiled wheel is no way out there.
        and not (other.libc == "musl" and _is_compiled(chosen[other.key].filename))
    ]
    if alternatives:
        text += "; of its wheels for CPython " + target.python_xy + ", " + "; ".join(alternatives)
    else:
        text += f"; none of its {len(wheels)} wheels in the lock runs on any platform for CPython {target.python_xy}"
    return text + (". Build for such a platform, lock a version with a wheel for this one (manylinux_2_17 or "
                   "older for glibc 2.17 targets, musllinux for musl, or py3-none-any), or leave the package "
                   "out for this platform.")


def plan(packages: list[Package], targets: list[Target], hub: str,
         index_pages: dict[str, dict[str, list[tuple[str, str]]]], lock_label: str) -> dict[str, Any]:
    """The repositories to declare and the hub's BUILD files."""
    # A universal lock (uv's) may pin a package twice under disjoint markers (numpy 2.4 for
    # CPython 3.11, numpy 2.5 for 3.12 and newer): each configuration takes the one that applies.
    seen: dict[str, list[Package]] = {}
    for package in packages:
        seen.setdefault(package.name, []).append(package)
        pages = index_pages.get(package.name)
        for dist_file in package.files:
            if dist_file.urls:
                continue
            if pages is None:
                raise LockError(f"{package.line}: no URL for {package.name} {package.version}'s files and no "
                                "index page to look them up in")
            for filename, url in pages.get(dist_file.sha256, []):
                dist_file.filename = filename
                dist_file.urls.append(url)
        if not any(f.urls for f in package.files):
            raise LockError(f"{package.line}: none of {package.name} {package.version}'s locked hashes is a file "
                            "that the package index lists; is the lock for another index? Set index_url on "
                            "the lock tag, PIP_INDEX_URL, or an --index-url line in the lock")
        package.files = [f for f in package.files if f.urls]

    def entry_for(name: str, target: Target) -> Package | None:
        applicable = [p for p in seen[name] if applies(p.marker, target, p.line)]
        if len(applicable) > 1:
            raise LockError(f"{applicable[1].line}: {name} is locked twice for {_describe(target)} "
                            f"({applicable[0].line}: {applicable[0].version}, here: {applicable[1].version}); "
                            "a binary holds one version of each package: give the two disjoint markers")
        return applicable[0] if applicable else None

    files: dict[str, dict[str, Any]] = {}
    build_files: dict[str, str] = {}
    aliases = []
    for name in sorted(seen):
        choices: dict[str, str] = {}
        compiled: dict[str, bool] = {}
        deps: dict[str, list[str]] = {}
        problems: dict[str, str] = {}
        versions: dict[str, str] = {}
        entries = {target.key: entry_for(name, target) for target in targets}
        wheel_for = {t.key: choose_wheel(entries[t.key], t) if entries[t.key] else None for t in targets}
        for target in targets:
            package = entries[target.key]
            if package is None:
                choices[target.key] = "skip"
                continue
            versions[target.key] = package.version
            chosen = wheel_for[target.key]
            if chosen is None:
                choices[target.key] = "none"
                problems[target.key] = no_wheel_message(package, target, wheel_for, targets)
            else:
                repo = _repo_name(hub, chosen.filename)
                files[repo] = {"filename": chosen.filename, "urls": chosen.urls, "sha256": chosen.sha256}
                choices[target.key] = repo
                compiled[target.key] = _is_compiled(chosen.filename)
            if package.deps is None:
                # The lock records no dependency edges (a pylock.toml without `dependencies`, a
                # requirements file without `# via`): every other package of the lock is one.
                names = [other for other in seen if other != name]
            else:
                names = [name for name, marker in package.deps if applies(marker, target, package.line)]
            # A dependency whose own marker excludes this configuration is not one here.
            deps[target.key] = sorted(set(n for n in names if n in seen and entry_for(n, target) is not None))
        build_files[f"{name}/BUILD.bazel"] = _package_build(seen[name], choices, versions, compiled, deps, problems, lock_label)
        aliases.append(name)
    build_files["BUILD.bazel"] = (f"# Generated by rules_py_standalone's pypi extension from {lock_label}.\n"
                                  "# One package per directory, @<hub>//<name>: " + ", ".join(aliases) + "\n")
    return {"files": files, "build_files": build_files}


_CONFIG = "@rules_py_standalone//rules/private/pypi:{key}"


def _package_build(entries: list[Package], choices: dict[str, str], versions: dict[str, str], compiled: dict[str, bool],
                   deps: dict[str, list[str]], problems: dict[str, str], lock_label: str) -> str:
    package = entries[0]
    if len({p.version for p in entries}) == 1:
        version = json.dumps(package.version)
    else:
        version = "select({\n" + "".join(f'        "{_CONFIG.format(key=key)}": {json.dumps(v)},\n' for key, v in versions.items()) + \
                  f'        "//conditions:default": {json.dumps(package.version)},\n    }})'

    wheel_select = "".join(
        # No wheel for the configuration (status says why): Starlark's None, not JSON's null.
        f'        "{_CONFIG.format(key=key)}": {json.dumps("@" + repo + "//file") if repo not in ("skip", "none") else "None"},\n'
        for key, repo in choices.items())
    status_select = "".join(
        f'        "{_CONFIG.format(key=key)}": "{"skip" if repo == "skip" else "none" if repo == "none" else "wheel"}",\n'
        for key, repo in choices.items())
    compiled_select = "".join(f'        "{_CONFIG.format(key=key)}": {compiled.get(key, False)},\n' for key in choices)
    problem_select = "".join(
        f'        "{_CONFIG.format(key=key)}": {json.dumps(text)},\n' for key, text in problems.items())
    deps_select = "".join(
        f'        "{_CONFIG.format(key=key)}": {json.dumps(["//" + d for d in names])},\n' for key, names in deps.items())
    return f'''# Generated by rules_py_standalone's pypi extension from {lock_label}: do not edit.
load("@rules_py_standalone//rules/private/pypi:pypi_package.bzl", "pypi_package")

pypi_package(
    name = "{package.name}",
    dist = "{package.name}",
    version = {version},
    lock = "{lock_label}",
    wheel = select({{
{wheel_select}        "//conditions:default": None,
    }}),
    status = select({{
{status_select}        "//conditions:default": "unsupported",
    }}),
    problem = select({{
{problem_select}        "//conditions:default": "",
    }}),
    compiled = select({{
{compiled_select}        "//conditions:default": False,
    }}),
    deps = select({{
{deps_select}        "//conditions:default": [],
    }}),
    visibility = ["//visibility:public"],
)
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    files = sub.add_parser("files")
    files.add_argument("--lock", required=True)
    files.add_argument("--format", choices=("requirements", "pylock.toml", "uv.lock"))
    files.add_argument("--index-url", help="the index the user configured (the rule's index_url)")
    files.add_argument("--requirements-in", help="the lock's input: fail when the lock is older than it")
    files.add_argument("--out", required=True)
    planner = sub.add_parser("plan")
    planner.add_argument("--lock", required=True)
    planner.add_argument("--format", choices=("requirements", "pylock.toml", "uv.lock"))
    planner.add_argument("--lock-label", required=True)
    planner.add_argument("--targets", required=True, help="JSON list of {platform, cpu, libc, libc_version, python}")
    planner.add_argument("--hub", required=True)
    planner.add_argument("--index-page", action="append", default=[], help="NAME=FILE=URL of a downloaded index page")
    planner.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "files" and args.requirements_in:
            check_fresh(args.lock, args.requirements_in)
        packages, indexes = read_lock(args.lock, args.format)
        if args.command == "files":
            needed = sorted({p.name for p in packages if any(not f.urls for f in p.files)})
            result: dict[str, Any] = {"index_pages": needed,
                                      "indexes": configured_indexes(os.environ, indexes, args.index_url)}
        else:
            with open(args.targets, encoding="utf-8") as f:
                targets = [Target(**t) for t in json.load(f)]
            pages: dict[str, dict[str, list[tuple[str, str]]]] = {}
            for spec in args.index_page:
                name, path, url = spec.split("=", 2)
                with open(path, "rb") as f:
                    for digest, found in index_files(f.read(), url).items():
                        pages.setdefault(name, {}).setdefault(digest, []).append(found)
            result = plan(packages, targets, args.hub, pages, args.lock_label)
    except LockError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
