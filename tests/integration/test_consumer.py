"""A consumer workspace outside this repository uses rules_py_standalone, in both Bazel modes.

Each case writes a workspace into the test's temporary directory that depends on this module
(`local_path_override` under bzlmod, `local_repository` under WORKSPACE), builds and runs
standalone binaries of its own and this module's examples, and checks the build errors of bad
targets.
"""

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from elftools.elf.elffile import ELFFile

from tests import rlocation
from tests.integration import nested_bazel

EMBED_API = ["rps_embed_call", "rps_embed_configure", "rps_embed_finalize", "rps_embed_initialize",
             "rps_embed_last_error", "rps_embed_result_free", "rps_embed_run_module", "rps_embed_run_string",
             "rps_embed_status_name"]

CONSUMER_BUILD = """\
load("@rules_py_standalone//rules:defs.bzl", "py_standalone_binary", "py_standalone_library", "py_standalone_shared_library")
load("@rules_python//python:defs.bzl", "py_library")

py_library(
    name = "lib",
    srcs = ["lib/greet.py"],
    imports = ["lib"],
)

py_standalone_binary(
    name = "app",
    srcs = ["app.py"],
    deps = [":lib"],
)

# The Python command line, as a consumer's test harness would re-run sys.executable; compressed
# (zstandard and the zstd decoder's sources come from the rules' own repositories).
py_standalone_binary(
    name = "cli",
    srcs = ["app.py"],
    compress = True,
    main = "app.py",
    python_command_line = True,
    deps = [":lib"],
)

py_standalone_binary(
    name = "no_main",
    srcs = ["lib/greet.py"],
)

py_standalone_binary(
    name = "syntax_error",
    srcs = ["broken.py"],
    main = "broken.py",
)

py_standalone_binary(
    name = "wrong_policy",
    srcs = ["app.py"],
    audit_policy = "linux_x86_64_musl",
    main = "app.py",
    deps = [":lib"],
)

py_standalone_binary(
    name = "two_greets",
    srcs = ["app.py", "greet.py"],
    deps = [":lib"],
    main = "app.py",
)

# The application's own `test` package, named like CPython's (excluded by default), with data.
py_library(
    name = "test_package",
    srcs = ["test/__init__.py", "test/leakers/__init__.py"],
    data = ["test/leakers/README.txt"],
)

py_standalone_binary(
    name = "own_test_package",
    srcs = ["own_test_package.py"],
    deps = [":test_package"],
)

# Embedding: the consumer's own C program with its Python modules, and the shared-object variant.
py_standalone_library(
    name = "scripting",
    deps = [":lib"],
)

cc_binary(
    name = "host",
    srcs = ["host.c"],
    deps = [":scripting"],
)

py_standalone_shared_library(
    name = "scripting_shared",
    deps = [":lib"],
)
"""

CONSUMER_FILES = {
    "app.py": "import sys\nimport greet\nprint(greet.greeting(), sys.argv[1:])\n",
    "lib/greet.py": "def greeting():\n    return 'hello from a consumer'\n",
    "broken.py": "print('fine')\nif True\n    pass\n",
    "greet.py": "",
    "own_test_package.py": "import importlib.resources, test.leakers\n"
                           "print(importlib.resources.files(test.leakers).joinpath('README.txt').read_text(), end='')\n",
    "test/__init__.py": "",
    "test/leakers/__init__.py": "",
    "test/leakers/README.txt": "the consumer's own test data\n",
    "host.c": """\
#include <rules_py_standalone/embed.h>
#include <stdio.h>

int main(void) {
    rps_embed_config config = RPS_EMBED_CONFIG_INIT;
    rps_embed_result result;
    if (rps_embed_configure(&config) != RPS_EMBED_OK ||
        rps_embed_call("greet", "greeting", NULL, 0, &result) != RPS_EMBED_OK) {
        fputs(rps_embed_last_error(), stderr);
        return 1;
    }
    printf("host: %s\\n", result.data);
    rps_embed_result_free(&result);
    return rps_embed_finalize() == RPS_EMBED_OK ? 0 : 1;
}
""",
}

MODULE = """\
module(name = "consumer")

bazel_dep(name = "rules_py_standalone")
bazel_dep(name = "rules_python", version = "0.31.0")
local_path_override(module_name = "rules_py_standalone", path = "{repo}")
"""

WORKSPACE = """\
workspace(name = "consumer")

local_repository(name = "rules_py_standalone", path = "{repo}")

load("@rules_py_standalone//toolchains:repositories.bzl", "rules_py_standalone_dependencies")

rules_py_standalone_dependencies()

load("@rules_py_standalone//toolchains:repositories.bzl", "rules_py_standalone_toolchains")

rules_py_standalone_toolchains()
"""


_repo_root = nested_bazel.repo_root
_bazel = nested_bazel.bazel


def _distribution() -> Path:
    """This repository's CPython 3.13 distribution (a data dependency of the test)."""
    return rlocation.path("DISTRIBUTION").resolve()


_cache = nested_bazel.shared_cache
_clean_env = nested_bazel.clean_env


class Workspace:
    def __init__(self, root: Path, mode: str, startup: list[str]) -> None:
        self.root = root
        self.mode = mode  # "bzlmod" or "workspace"
        self.startup = startup

    def bazel(self, *args: str, expect_failure: bool = False) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [_bazel(), *self.startup, *args],
            cwd=self.root,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=3000,
        )
        if expect_failure:
            assert done.returncode != 0, f"bazel {' '.join(args)} succeeded but should fail"
        else:
            assert done.returncode == 0, f"bazel {' '.join(args)} failed:\n{done.stderr[-6000:]}"
        return done


@pytest.fixture(params=["bzlmod", "workspace"])
def consumer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A consumer workspace (bzlmod or WORKSPACE mode) with its own Bazel output root."""
    mode = request.param
    root = tmp_path / f"consumer-{mode}"
    root.mkdir()
    repo = _repo_root()
    cache = _cache()
    rc = [
        f"common --repository_cache={cache}/repository_cache",
        f"build --disk_cache={cache}/disk_cache",
        "build --incompatible_strict_action_env",
        # This checkout may be under /tmp, which Bazel 7 hides from sandboxed actions (.bazelrc).
        "build --noincompatible_sandbox_hermetic_tmp",
    ]
    if mode == "bzlmod":
        (root / "MODULE.bazel").write_text(MODULE.format(repo=repo))
        (root / "WORKSPACE.bzlmod").write_text("")
    else:
        (root / "WORKSPACE").write_text(WORKSPACE.format(repo=repo))
        rc.append("common --noenable_bzlmod")
    (root / ".bazelrc").write_text("\n".join(rc) + "\n")
    (root / "BUILD.bazel").write_text(CONSUMER_BUILD)
    for rel, text in CONSUMER_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    output_root = tmp_path / "output_user_root"
    ws = Workspace(root, mode, [f"--output_user_root={output_root}", "--max_idle_secs=60"])
    try:
        yield ws
    finally:
        # No server or output base may outlive the test.
        subprocess.run([_bazel(), *ws.startup, "shutdown"], cwd=root, env=_clean_env(), capture_output=True, timeout=120)
        if output_root.exists():
            subprocess.run(["chmod", "-R", "u+w", str(output_root)], check=False)
            shutil.rmtree(output_root, ignore_errors=True)


# Building the module's examples in a consumer compiles CPython there (the paths differ from
# this repository's, so no action is shared). Under bzlmod it does; under WORKSPACE it uses an
# archive of this repository's distribution instead unless CONSUMER_WORKSPACE_CPYTHON=source
# (//tests/integration:consumer_from_source_test, manual: a second CPython build would take
# CI's cold run over its time).
def test_consumer_builds_and_runs_standalone_binaries(consumer: Workspace, tmp_path: Path) -> None:
    if consumer.mode == "workspace" and os.environ.get("CONSUMER_WORKSPACE_CPYTHON") != "source":
        archive, sha256 = _pbs_archive(tmp_path, _distribution())
        (consumer.root / "WORKSPACE").write_text(PBS_WORKSPACE.format(repo=_repo_root(), archive=archive, sha256=sha256))
    done = consumer.bazel("run", "//:app", "--", "a", "-c")
    assert done.stdout == "hello from a consumer ['a', '-c']\n"
    # The generated inputs of the compile and link steps, as a consumer gets them (docs/rules.md).
    consumer.bazel("build", "//:app", "--output_groups=generated")
    generated = Path(consumer.bazel("info", "bazel-bin").stdout.strip()) / "app.rps"
    header, *entries = [json.loads(line) for line in (generated / "manifest.jsonl").read_text().splitlines()]
    assert header["manifest"] == "rps-manifest-1" and header["label"].endswith("//:app"), header
    # The runtime's modules come from the rules' own repository, the program from the consumer's.
    assert all(m["path"].startswith("external/rules_py_standalone") for m in header["modules"]
               if m["name"] != "_rps_config"), header["modules"]
    assert next(
        e["file"] for e in entries if e.get("file", {}).get("path") == "app.py")["rlocation"].endswith("/app.py"), entries
    assert "libpython3.13" in (generated / "link.params").read_text()
    assert "int rps_register_extensions(void)" in (generated / "inittab.c").read_text()
    done = consumer.bazel("run", "@rules_py_standalone//examples/hello")
    assert done.stdout == "Hello from Python 3.13!\n"
    # json is not a start-up module of app.py: compressed, decompressed at this import.
    done = consumer.bazel("run", "//:cli", "--", "-X", "dev", "-c",
                          "import sys, greet, json; print(sys.flags.dev_mode, greet.greeting(), json.dumps([1]))")
    assert done.stdout == "True hello from a consumer [1]\n"
    done = consumer.bazel("run", "//:own_test_package")
    assert done.stdout == "the consumer's own test data\n"
    consumer.bazel("build", "@rules_py_standalone//examples/stdlib_tour", "@rules_py_standalone//examples/resources:resources_example")
    bin_dir = Path(consumer.bazel("info", "bazel-bin").stdout.strip())
    examples = bin_dir / "external" / next(p.name for p in (bin_dir / "external").iterdir() if p.name.startswith("rules_py_standalone")) / "examples"
    tour = subprocess.run([examples / "stdlib_tour/stdlib_tour"], capture_output=True, text=True, timeout=120)
    assert tour.returncode == 0 and "multiprocessing forkserver: [0, 1, 4, 9, 16]" in tour.stdout, tour.stderr
    resources = subprocess.run([examples / "resources/resources_example"], capture_output=True, text=True, timeout=60)
    assert "greeting: Hello from package data!" in resources.stdout, resources.stderr

    # Embedding from the consumer's own cc_binary, the module's example, and the shared object.
    done = consumer.bazel("run", "//:host")
    assert done.stdout == "host: hello from a consumer\n"
    done = consumer.bazel("run", "@rules_py_standalone//examples/embed", "--", "one")
    assert "greeter.greet -> Hello, C++! Hello, C++!" in done.stdout
    consumer.bazel("build", "//:scripting_shared")
    shared = bin_dir / "libscripting_shared.so"
    with shared.open("rb") as file:
        exported = [symbol.name for symbol in ELFFile(file).get_section_by_name(".dynsym").iter_symbols()
                    if symbol["st_shndx"] != "SHN_UNDEF" and symbol.name]
    assert sorted(exported) == EMBED_API

    # Bad input fails with messages that say what and where.
    failed = consumer.bazel("build", "//:no_main", expect_failure=True)
    assert "//:no_main: no main module: set main" in failed.stderr
    failed = consumer.bazel("build", "//:syntax_error", expect_failure=True)
    assert "broken.py:2" in failed.stderr and "SyntaxError" in failed.stderr
    failed = consumer.bazel("build", "//:wrong_policy", expect_failure=True)
    report = failed.stdout + failed.stderr  # Bazel shows the failing action's stdout too
    assert "policy linux_x86_64_musl" in report and "DT_NEEDED libc.so.6" in report
    failed = consumer.bazel("build", "//:two_greets", expect_failure=True)
    assert "two files map to module 'greet': greet.py and lib/greet.py" in failed.stderr


def _zstd_stored(data: bytes) -> bytes:
    """A Zstandard frame (RFC 8878) holding `data` in raw (stored) blocks: a valid .zst without a
    compressor. Frame header: no content size, a 128 KiB window; blocks of at most 128 KiB."""
    frame = bytearray(struct.pack("<IBB", 0xFD2FB528, 0, 7 << 3))
    size = 1 << 17
    blocks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    for n, block in enumerate(blocks):
        last = n == len(blocks) - 1
        frame += struct.pack("<I", len(block) << 3 | last)[:3] + block  # block type 0: raw
    return bytes(frame)


def _pbs_archive(tmp_path: Path, distribution: Path, python_json_version: str = "8") -> tuple[Path, str]:
    """A python-build-standalone-style archive (top directory python/, .tar.zst like theirs)
    made from our own build."""
    import hashlib
    import io
    import json
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        def skip_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
            return None if "__pycache__" in info.name or "/test/" in info.name else info
        for child in sorted(distribution.iterdir()):
            if child.name != "PYTHON.json":
                tar.add(child, arcname=f"python/{child.name}", filter=skip_caches)
        doc = json.loads((distribution / "PYTHON.json").read_text())
        doc["version"] = python_json_version
        data = json.dumps(doc).encode()
        info = tarfile.TarInfo("python/PYTHON.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / f"cpython-3.13-v{python_json_version}-full.tar.zst"
    archive.write_bytes(_zstd_stored(buffer.getvalue()))
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


PBS_MODULE = """\
pbs = use_extension("@rules_py_standalone//toolchains:extensions.bzl", "python_build_standalone")
pbs.archive(name = "pbs", urls = ["file://{archive}"], sha256 = "{sha256}")
use_repo(pbs, "pbs")

register_toolchains("@pbs//:toolchain")
"""


@pytest.mark.parametrize("consumer", ["bzlmod"], indirect=True)
def test_consumer_uses_a_python_build_standalone_archive(consumer: Workspace, tmp_path: Path) -> None:
    archive, sha256 = _pbs_archive(tmp_path, _distribution())
    module = consumer.root / "MODULE.bazel"
    base = module.read_text()
    module.write_text(base + PBS_MODULE.format(archive=archive, sha256=sha256))
    done = consumer.bazel("run", "//:app", "--", "x")
    assert done.stdout == "hello from a consumer ['x']\n"
    toolchain = consumer.bazel("cquery", "@pbs//:distribution", "--output=label")
    assert "@pbs//:distribution" in toolchain.stdout

    # A distribution whose PYTHON.json has another format version is refused, naming it.
    bad, bad_sha256 = _pbs_archive(tmp_path, _distribution(), python_json_version="7")
    module.write_text(base + PBS_MODULE.format(archive=bad, sha256=bad_sha256))
    failed = consumer.bazel("build", "//:app", expect_failure=True)
    assert "PYTHON.json format version 7 is not supported (supported: 8)" in failed.stderr

    # A wrong sha256 names the URL and both hashes (Bazel's downloader).
    module.write_text(base + PBS_MODULE.format(archive=archive, sha256="0" * 64))
    failed = consumer.bazel("build", "//:app", expect_failure=True)
    assert sha256 in failed.stderr and "0" * 64 in failed.stderr


PBS_WORKSPACE = """\
workspace(name = "consumer")

local_repository(name = "rules_py_standalone", path = "{repo}")

load("@rules_py_standalone//toolchains:repositories.bzl", "rules_py_standalone_dependencies")

rules_py_standalone_dependencies()

load("@rules_py_standalone//toolchains:repositories.bzl", "python_build_standalone_archive", "rules_py_standalone_toolchains")

python_build_standalone_archive(name = "pbs", urls = ["file://{archive}"], sha256 = "{sha256}")

register_toolchains("@pbs//:toolchain")

rules_py_standalone_toolchains()
"""

PYPI_BUILD = """
py_standalone_binary(
    name = "markup",
    srcs = ["markup.py"],
    deps = ["@pypi//markupsafe"],
)

py_standalone_binary(
    name = "pygmentize",
    console_script = "pygmentize",
    deps = ["@pypi//pygments"],
)

py_standalone_binary(
    name = "no_such_script",
    console_script = "nope",
    deps = ["@pypi//pygments"],
)
"""

PYPI_MARKUP = "import sys\nimport markupsafe\nprint(markupsafe.escape('<b>'), 'markupsafe._speedups' in sys.modules)\n"

PYPI_MODULE = PBS_MODULE + """
pypi = use_extension("@rules_py_standalone//rules:extensions.bzl", "pypi")
pypi.lock(name = "pypi", requirements = "//:requirements.txt")
use_repo(pypi, "pypi")
"""

PYPI_WORKSPACE = PBS_WORKSPACE + """
load("@rules_py_standalone//toolchains:repositories.bzl", "pypi_lock")

pypi_lock(name = "pypi", requirements = "//:requirements.txt")

load("@pypi//:repositories.bzl", "pypi_repositories")

pypi_repositories()
"""


# A distribution from an archive of our own build, so that no CPython is compiled here.
def test_consumer_uses_pypi_packages(consumer: Workspace, tmp_path: Path) -> None:
    archive, sha256 = _pbs_archive(tmp_path, _distribution())
    lock = rlocation.path("PYPI_LOCK")
    (consumer.root / "requirements.txt").write_text(lock.read_text())
    (consumer.root / "markup.py").write_text(PYPI_MARKUP)
    with (consumer.root / "BUILD.bazel").open("a") as build:
        build.write(PYPI_BUILD)
    if (consumer.root / "MODULE.bazel").exists():
        with (consumer.root / "MODULE.bazel").open("a") as module:
            module.write(PYPI_MODULE.format(archive=archive, sha256=sha256))
    else:
        (consumer.root / "WORKSPACE").write_text(PYPI_WORKSPACE.format(repo=_repo_root(), archive=archive, sha256=sha256))

    done = consumer.bazel("run", "//:markup")
    assert done.stdout == "&lt;b&gt; True\n"  # the C speedups, loaded from memory
    done = consumer.bazel("run", "//:pygmentize", "--", "-V")
    assert done.stdout.startswith("Pygments version 2.21.0")

    failed = consumer.bazel("build", "//:no_such_script", expect_failure=True)
    assert "console_script = 'nope': no package in deps declares it" in failed.stderr
    assert "pygmentize" in failed.stderr
    failed = consumer.bazel("build", "--platforms=@rules_py_standalone//platforms:linux_x86_64_musl", "//:markup",
                            expect_failure=True)
    assert "has compiled extension modules, and musl binaries are fully static" in failed.stderr
