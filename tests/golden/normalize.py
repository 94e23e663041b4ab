"""The normalised form of a binary's generated files, as the golden snapshots hold them.

Only what varies with the configuration or the Bazel version is replaced; everything else
(order, flags, library and module names, entry lists, formatting) is kept as generated:
- `bazel-out/<config>/` (k8-fastbuild, k8-fastbuild-ST-<hash>, ...) becomes
  `bazel-out/<CONFIG>/`, or `bazel-out/<EXEC_CONFIG>/` for an exec configuration;
- a canonical repository name (`_main~pypi2~rps_test_pypi`, `rules_python~`, Bazel 8's
  `rules_python+`), after `external/` or as the first segment of a runfiles path, becomes
  the repository's own name (`rps_test_pypi`, `rules_python`).
"""

from __future__ import annotations

import re

# The files of the `generated` output group of py_standalone_binary, in snapshot order.
GENERATED_FILES = ("manifest.jsonl", "link.params", "inittab.c")

_CONFIG = re.compile(r"\bbazel-out/([^/\s\"']+)/")

# A canonical repository name: a path segment after `external/`, or the first segment of a
# runfiles path (a JSON string in manifest.jsonl). Repository names have only [A-Za-z0-9_.-];
# `~` (Bazel 7) and `+` (Bazel 8) separate the parts of canonical ones.
_CANONICAL = re.compile(r"(\bexternal/|\")([A-Za-z0-9_.-]+(?:[~+][A-Za-z0-9_.-]*)+)(?=/)")
# A whole JSON string that is one (a root): only with `~`, or Bazel 8's `<module>+`, since a
# `+` in other strings may be a wheel's local version (`2.0+cpu`).
_CANONICAL_STRING = re.compile(r"(\")([A-Za-z0-9_.-]+(?:~[A-Za-z0-9_.-]*)+|[A-Za-z_][A-Za-z0-9_.-]*\+)(?=\")")

# An absolute path: a machine's home, workspace or output base, never in a snapshot.
_ABSOLUTE_PATH = re.compile(r"(?:^|[\s\"'=,])(/[A-Za-z0-9_.~+-]+/[^\s\"']*)", re.M)


def _config(match: re.Match) -> str:
    return "bazel-out/<EXEC_CONFIG>/" if "-exec" in match.group(1) else "bazel-out/<CONFIG>/"


def repository_name(canonical: str) -> str:
    """The repository's own name in a canonical one: `<module>~[<version>]` is the module's
    repository, `<module>~[<version>~]<extension>~<name>` (or with `+`) an extension's."""
    parts = re.split(r"[~+]", canonical)
    return parts[0] if len(parts) == 2 else parts[-1]


def normalize(text: str) -> str:
    text = _CONFIG.sub(_config, text)
    for pattern in (_CANONICAL, _CANONICAL_STRING):
        text = pattern.sub(lambda m: m.group(1) + repository_name(m.group(2)), text)
    return text


def machine_paths(text: str) -> list[str]:
    """The absolute paths in `text` (which a snapshot must not contain)."""
    return _ABSOLUTE_PATH.findall(text)
