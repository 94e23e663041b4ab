"""A consumer workspace outside this repository uses rules_py_standalone, in both Bazel modes.

Each case writes a workspace into the test's temporary directory that depends on this module
(`local_path_override` under bzlmod, `local_repository` under WORKSPACE), builds a target of its
own that runs a tool from this module, and runs an example from this module.
"""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

CONSUMER_BUILD = """\
genrule(
    name = "greeting",
    outs = ["greeting.txt"],
    cmd = "$(execpath @rules_py_standalone//examples/hello) > $@",
    tools = ["@rules_py_standalone//examples/hello"],
)
"""

MODULE = """\
module(name = "consumer")

bazel_dep(name = "rules_py_standalone")
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


def _repo_root() -> Path:
    # The runfile is a symlink into the source tree; its directory is the module's root.
    module = Path(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"], "MODULE.bazel")
    return module.resolve().parent


def _bazel() -> str:
    bazel = os.environ.get("RULES_PY_STANDALONE_BAZEL")
    if not bazel:
        pytest.fail("RULES_PY_STANDALONE_BAZEL is unset: run the tests through tools/bazel, which sets it")
    return bazel


def _cache() -> Path:
    return Path(os.environ.get("RULES_PY_STANDALONE_CACHE") or Path.home() / ".cache/rules_py_standalone")


# The nested Bazel must not see the outer test's environment (RUNFILES_DIR, TEST_*, PYTHON*):
# the Python stubs of the consumer's tools would otherwise look for files in our runfiles.
_PASSED_ENV = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR",
               "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in _PASSED_ENV}


class Workspace:
    def __init__(self, root: Path, startup: list[str]) -> None:
        self.root = root
        self.startup = startup

    def bazel(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [_bazel(), *self.startup, *args],
            cwd=self.root,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, f"bazel {' '.join(args)} failed:\n{done.stderr[-6000:]}"
        return done


@pytest.fixture(params=["bzlmod", "workspace"])
def consumer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    mode = request.param
    root = tmp_path / f"consumer-{mode}"
    root.mkdir()
    repo = _repo_root()
    cache = _cache()
    rc = [
        f"common --repository_cache={cache}/repository_cache",
        f"build --disk_cache={cache}/disk_cache",
        "build --incompatible_strict_action_env",
    ]
    if mode == "bzlmod":
        (root / "MODULE.bazel").write_text(MODULE.format(repo=repo))
        (root / "WORKSPACE.bzlmod").write_text("")
    else:
        (root / "WORKSPACE").write_text(WORKSPACE.format(repo=repo))
        rc.append("common --noenable_bzlmod")
    (root / ".bazelrc").write_text("\n".join(rc) + "\n")
    (root / "BUILD.bazel").write_text(CONSUMER_BUILD)
    output_root = tmp_path / "output_user_root"
    ws = Workspace(root, [f"--output_user_root={output_root}", "--max_idle_secs=60"])
    try:
        yield ws
    finally:
        # No server or output base may outlive the test.
        subprocess.run([_bazel(), *ws.startup, "shutdown"], cwd=root, env=_clean_env(), capture_output=True, timeout=120)
        if output_root.exists():
            subprocess.run(["chmod", "-R", "u+w", str(output_root)], check=False)
            shutil.rmtree(output_root, ignore_errors=True)


def test_consumer_builds_a_target_that_runs_a_tool_from_the_module(consumer: Workspace) -> None:
    consumer.bazel("build", "//:greeting")
    bin_dir = consumer.bazel("info", "bazel-bin").stdout.strip()
    assert Path(bin_dir, "greeting.txt").read_text().startswith("Hello from Python 3.")


def test_consumer_runs_an_example_of_the_module(consumer: Workspace) -> None:
    done = consumer.bazel("run", "@rules_py_standalone//examples/hello")
    assert done.stdout.startswith("Hello from Python 3.")
