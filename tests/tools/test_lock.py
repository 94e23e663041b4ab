"""tools/lock: the pinned uv locks requirements from a package index on 127.0.0.1."""

import hashlib
import http.server
import os
import threading
import zipfile
from pathlib import Path

import pytest

from tools.lock import lock
from tools.pypi import lock_reader


def _wheel(directory: Path, name: str, version: str, requires: list[str]) -> Path:
    path = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{info}/METADATA", metadata)
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """A PEP 503 index served on 127.0.0.1: alpha 1.0 needs beta; beta 1.0 and 2.0."""
    root = tmp_path_factory.mktemp("index")
    files = root / "files"
    files.mkdir()
    wheels = {"alpha": [_wheel(files, "alpha", "1.0", ["beta"])],
              "beta": [_wheel(files, "beta", "1.0", []), _wheel(files, "beta", "2.0", [])]}
    for name, paths in wheels.items():
        page = root / "simple" / name
        page.mkdir(parents=True)
        links = "".join(f'<a href="../../files/{p.name}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">{p.name}</a>\n'
                        for p in paths)
        (page / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    server.shutdown()


def _env(index: str, tmp_path: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PIP_INDEX_URL": index, "PIP_CONFIG_FILE": os.devnull,
            "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_PROGRESS": "1"}


def _uv() -> str:
    return os.path.abspath(os.environ["UV"])


def test_lock_pins_hashes_and_records_the_input(index, tmp_path):
    requirements_in = tmp_path / "requirements.in"
    requirements_in.write_text("alpha\n")
    output = tmp_path / "requirements.txt"
    lock.lock(_uv(), str(requirements_in), str(output), "3.11", False, _env(index, tmp_path))
    text = output.read_text()
    assert text.startswith("# Locked by `bazel run @rules_py_standalone//tools/lock -- requirements.in`")
    packages, _ = lock_reader.read_requirements(text, str(output))
    assert {(p.name, p.version) for p in packages} == {("alpha", "1.0"), ("beta", "2.0")}
    by_name = {p.name: p for p in packages}
    assert by_name["alpha"].deps == [("beta", None)]  # from uv's "# via alpha"
    assert all(len(p.files) == 1 for p in packages)
    assert "# via -r requirements.in" in text and str(tmp_path) not in text  # no machine paths
    lock_reader.check_fresh(str(output), str(requirements_in))  # fresh: no error

    requirements_in.write_text("alpha\nbeta<2\n")
    with pytest.raises(lock_reader.LockError, match="requirements.txt is stale: it was locked from another requirements.in"):
        lock_reader.check_fresh(str(output), str(requirements_in))
    lock.lock(_uv(), str(requirements_in), str(output), "3.11", False, _env(index, tmp_path))
    packages, _ = lock_reader.read_requirements(output.read_text(), str(output))
    assert ("beta", "1.0") in {(p.name, p.version) for p in packages}


def test_failed_resolution_keeps_the_old_lock(index, tmp_path):
    requirements_in = tmp_path / "requirements.in"
    requirements_in.write_text("no-such-package\n")
    output = tmp_path / "requirements.txt"
    output.write_text("# the old lock\n")
    with pytest.raises(lock.LockToolError, match="uv could not lock"):
        lock.lock(_uv(), str(requirements_in), str(output), "3.11", False, _env(index, tmp_path))
    assert output.read_text() == "# the old lock\n"


def test_lock_without_input_digest_cannot_be_checked(tmp_path):
    (tmp_path / "requirements.in").write_text("x\n")
    (tmp_path / "requirements.txt").write_text("x==1 --hash=sha256:" + "a" * 64 + "\n")
    with pytest.raises(lock_reader.LockError, match="records no input sha256"):
        lock_reader.check_fresh(str(tmp_path / "requirements.txt"), str(tmp_path / "requirements.in"))
