"""Stock CPython with a set of wheels installed the simple way: what the PyPI tests compare the
standalone binaries with."""

import os
import subprocess
import zipfile
from pathlib import Path


def install_wheels(wheels: list[str], site: Path) -> Path:
    """Unzips each wheel into `site` (what pip does, without scripts or bytecode)."""
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    return site


def run(distribution: str, site: Path, *args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    """The distribution's python3.13 -s with `site` on its path, UTF-8 mode, nothing cached; `env`
    adds to its environment."""
    python = os.path.join(os.path.abspath(distribution), "install", "bin", "python3.13")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "PYTHONUTF8": "1", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run([python, "-s", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
