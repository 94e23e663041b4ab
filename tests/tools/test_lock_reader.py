"""tools/pypi/lock_reader: the three lock formats, index pages, wheel choice per target."""

import json

import pytest

from tools.pypi import lock_reader as lr

GNU_313 = lr.Target("linux_x86_64_gnu", "x86_64", "gnu", "2.17", "3.13.5")
MUSL_313 = lr.Target("linux_x86_64_musl", "x86_64", "musl", "1.2", "3.13.5")
ARM_311 = lr.Target("linux_aarch64_gnu", "aarch64", "gnu", "2.17", "3.11.2")
H = ["a" * 64, "b" * 64, "c" * 64, "d" * 64, "e" * 64]

REQUIREMENTS = f"""\
jinja2==3.1.4 \\
    --hash=sha256:{H[0]}
    # via -r requirements.in
markupsafe==3.0.2 \\
    --hash=sha256:{H[1]} \\
    --hash=sha256:{H[2]}
    # via jinja2
colorama==0.4.6 ; sys_platform == 'win32' \\
    --hash=sha256:{H[3]}
    # via
    #   jinja2
"""

PAGE = f"""<html><body>
<a href="https://files.example/jinja2-3.1.4-py3-none-any.whl#sha256={H[0]}">jinja2-3.1.4-py3-none-any.whl</a>
<a href="../../files/MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl#sha256={H[1]}">x</a>
<a href="../../files/MarkupSafe-3.0.2-cp313-cp313-musllinux_1_2_x86_64.whl#sha256={H[2]}">y</a>
<a href="https://files.example/colorama-0.4.6-py2.py3-none-any.whl#sha256={H[3]}">z</a>
</body></html>""".encode()


def _pages(url="https://index.example/simple/x/"):
    found = {}
    for digest, entry in lr.index_files(PAGE, url).items():
        found.setdefault(digest, []).append(entry)
    return {"jinja2": found, "markupsafe": found, "colorama": found}


def test_requirements_with_via_comments(tmp_path):
    packages, indexes = lr.read_requirements(REQUIREMENTS, "requirements.txt")
    by_name = {p.name: p for p in packages}
    assert sorted(by_name) == ["colorama", "jinja2", "markupsafe"]
    assert [f.sha256 for f in by_name["markupsafe"].files] == [H[1], H[2]]
    assert by_name["colorama"].marker == "sys_platform == 'win32'"
    assert sorted(by_name["jinja2"].deps) == [("colorama", None), ("markupsafe", None)]
    assert indexes == []


def test_requirement_without_hash_is_refused():
    with pytest.raises(lr.LockError, match=r"requirements.txt:1: six==1.16.0 has no --hash"):
        lr.read_requirements("six==1.16.0\n", "requirements.txt")


def test_unpinned_requirement_is_refused():
    with pytest.raises(lr.LockError, match="is not pinned as name==version"):
        lr.read_requirements(f"six>=1 --hash=sha256:{H[0]}\n", "requirements.txt")


def test_index_page_urls_are_absolute():
    files = lr.index_files(PAGE, "https://index.example/simple/markupsafe/")
    assert files[H[1]] == ("MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                           "https://index.example/files/MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")


def test_pep691_json_page():
    page = json.dumps({"files": [{"filename": "a-1-py3-none-any.whl", "url": "a-1-py3-none-any.whl",
                                  "hashes": {"sha256": H[4]}}]}).encode()
    assert lr.index_files(page, "https://i.example/simple/a/") == {H[4]: ("a-1-py3-none-any.whl", "https://i.example/simple/a/a-1-py3-none-any.whl")}


def test_plan_chooses_per_target_and_skips_by_marker():
    packages, _ = lr.read_requirements(REQUIREMENTS, "requirements.txt")
    plan = lr.plan(packages, [GNU_313, MUSL_313, ARM_311], "hub", _pages(), "//:requirements.txt")
    files = {spec["filename"] for spec in plan["files"].values()}
    assert "MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" in files
    assert "MarkupSafe-3.0.2-cp313-cp313-musllinux_1_2_x86_64.whl" in files
    assert not any(name.startswith("colorama") for name in files)  # win32 only
    build = plan["build_files"]["markupsafe/BUILD.bazel"]
    assert '"@rules_py_standalone//rules/private/pypi:linux_aarch64_gnu_3_11": "none"' in build
    # A configuration without a wheel selects None (the BUILD file is Starlark, not JSON).
    assert '"@rules_py_standalone//rules/private/pypi:linux_aarch64_gnu_3_11": None,' in build
    assert "null" not in build
    assert '"@rules_py_standalone//rules/private/pypi:linux_x86_64_musl_3_13": True' in build  # compiled
    colorama = plan["build_files"]["colorama/BUILD.bazel"]
    assert '"@rules_py_standalone//rules/private/pypi:linux_x86_64_gnu_3_13": "skip"' in colorama
    jinja2 = plan["build_files"]["jinja2/BUILD.bazel"]
    assert '"@rules_py_standalone//rules/private/pypi:linux_x86_64_gnu_3_13": ["//markupsafe"]' in jinja2


def test_glibc_floor_limits_manylinux_tags():
    tags = lr.platform_tags(GNU_313)
    assert tags[:2] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert "manylinux_2_28_x86_64" not in tags and "manylinux1_x86_64" in tags
    newer = lr.Target("linux_x86_64_gnu_2_28", "x86_64", "gnu", "2.28", "3.13.5")
    assert lr.platform_tags(newer)[0] == "manylinux_2_28_x86_64"
    assert lr.platform_tags(MUSL_313) == ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64"]


def test_choose_prefers_the_specific_wheel_and_abi3():
    package = lr.Package("x", "1", None, [
        lr.DistFile("x-1-py3-none-any.whl", H[0], ["u"]),
        lr.DistFile("x-1-cp39-abi3-manylinux_2_17_x86_64.whl", H[1], ["u"]),
        lr.DistFile("x-1-cp313-cp313-manylinux_2_28_x86_64.whl", H[2], ["u"]),
        lr.DistFile("x-1.tar.gz", H[3], ["u"]),
    ], [], "lock")
    assert lr.choose_wheel(package, GNU_313).filename == "x-1-cp39-abi3-manylinux_2_17_x86_64.whl"
    assert lr.choose_wheel(package, MUSL_313).filename == "x-1-py3-none-any.whl"


def test_no_wheel_message_names_the_platforms_that_have_one():
    newer = lr.Target("linux_x86_64_gnu_2_28", "x86_64", "gnu", "2.28", "3.13.5")
    package = lr.Package("x", "1", None, [
        lr.DistFile("x-1-cp313-cp313-manylinux_2_28_x86_64.whl", H[0], ["u"]),
        lr.DistFile("x-1-cp313-cp313-musllinux_1_2_x86_64.whl", H[1], ["u"]),
        lr.DistFile("x-1-cp311-cp311-manylinux_2_17_aarch64.whl", H[2], ["u"]),
    ], [], "lock")
    targets = [GNU_313, newer, MUSL_313, ARM_311]
    chosen = {t.key: lr.choose_wheel(package, t) for t in targets}
    message = lr.no_wheel_message(package, GNU_313, chosen, targets)
    assert message.startswith("no wheel of it runs on linux_x86_64_gnu (CPython 3.13, x86_64, glibc 2.17); ")
    assert ("x-1-cp313-cp313-manylinux_2_28_x86_64.whl runs on linux_x86_64_gnu_2_28 "
            "(--platforms=@rules_py_standalone//platforms:linux_x86_64_gnu_2_28)") in message
    # A compiled musl wheel cannot be loaded by a static binary: not offered; other Pythons neither.
    assert "musllinux_1_2" not in message and "aarch64" not in message
    assert "none of its" in lr.no_wheel_message(package, newer, {}, targets)
    sdist = lr.Package("y", "1", None, [lr.DistFile("y-1.tar.gz", H[3], ["u"])], [], "lock")
    assert "only an sdist" in lr.no_wheel_message(sdist, GNU_313, {}, targets)


def test_plan_writes_the_no_wheel_message_into_the_build_file():
    packages, _ = lr.read_requirements(REQUIREMENTS, "requirements.txt")
    plan = lr.plan(packages, [GNU_313, MUSL_313, ARM_311], "hub", _pages(), "//:requirements.txt")
    build = plan["build_files"]["markupsafe/BUILD.bazel"]
    assert ('"@rules_py_standalone//rules/private/pypi:linux_aarch64_gnu_3_11": "no wheel of it runs on '
            'linux_aarch64_gnu (CPython 3.11, aarch64, glibc 2.17);') in build


def test_a_package_locked_twice_under_disjoint_markers_is_chosen_per_python():
    lock = (f"numpy==2.4.6 ; python_full_version < '3.12' \\\n    --hash=sha256:{H[0]}\n"
            f"numpy==2.5.5 ; python_full_version >= '3.12' \\\n    --hash=sha256:{H[1]}\n")
    page = (f'<a href="https://f.example/numpy-2.4.6-cp311-cp311-manylinux_2_17_aarch64.whl#sha256={H[0]}">a</a>'
            f'<a href="https://f.example/numpy-2.5.5-cp313-cp313-manylinux_2_17_x86_64.whl#sha256={H[1]}">b</a>').encode()
    found = {}
    for digest, entry in lr.index_files(page, "https://i.example/simple/numpy/").items():
        found.setdefault(digest, []).append(entry)
    packages, _ = lr.read_requirements(lock, "requirements.txt")
    plan = lr.plan(packages, [GNU_313, ARM_311], "hub", {"numpy": found}, "//:requirements.txt")
    build = plan["build_files"]["numpy/BUILD.bazel"]
    assert '"@rules_py_standalone//rules/private/pypi:linux_x86_64_gnu_3_13": "2.5.5"' in build
    assert '"@rules_py_standalone//rules/private/pypi:linux_aarch64_gnu_3_11": "2.4.6"' in build
    assert '"@hub__numpy-2.5.5-cp313-cp313-manylinux_2_17_x86_64.whl//file"' in build
    overlapping = lock.replace(">= '3.12'", ">= '3.10'")
    packages, _ = lr.read_requirements(overlapping, "requirements.txt")
    with pytest.raises(lr.LockError, match=r"requirements.txt:3: numpy is locked twice for linux_aarch64_gnu "
                                           r"\(CPython 3.11, aarch64, glibc 2.17\) \(requirements.txt:1: 2.4.6, here: 2.5.5\)"):
        lr.plan(packages, [GNU_313, ARM_311], "hub", {"numpy": found}, "//:requirements.txt")


def test_sdist_only_package_has_no_wheel():
    package = lr.Package("x", "1", None, [lr.DistFile("x-1.tar.gz", H[0], ["u"])], [], "lock")
    assert lr.choose_wheel(package, GNU_313) is None


def test_hash_missing_from_index_is_named():
    packages, _ = lr.read_requirements(f"zzz==1.0 --hash=sha256:{H[4]}\n", "requirements.txt")
    with pytest.raises(lr.LockError, match="none of zzz 1.0's locked hashes"):
        lr.plan(packages, [GNU_313], "hub", {"zzz": {}}, "//:r")


def test_pylock_toml(tmp_path):
    lock = tmp_path / "pylock.toml"
    lock.write_text(f'''lock-version = "1.0"
created-by = "test"
[[packages]]
name = "MarkupSafe"
version = "3.0.2"
wheels = [{{ url = "https://f.example/MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.whl", hashes = {{ sha256 = "{H[1]}" }} }}]
''')
    packages, _ = lr.read_lock(str(lock))
    assert packages[0].name == "markupsafe" and packages[0].deps is None
    assert packages[0].files[0].filename == "MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.whl"


def test_uv_lock_skips_the_project(tmp_path):
    lock = tmp_path / "uv.lock"
    lock.write_text(f'''version = 1
[[package]]
name = "app"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [{{ name = "rich" }}]
[[package]]
name = "rich"
version = "15.0.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [{{ name = "colorama", marker = "sys_platform == 'win32'" }}]
wheels = [{{ url = "https://f.example/rich-15.0.0-py3-none-any.whl", hash = "sha256:{H[0]}" }}]
''')
    packages, _ = lr.read_lock(str(lock))
    assert [p.name for p in packages] == ["rich"]
    assert packages[0].deps == [("colorama", "sys_platform == 'win32'")]


def test_uv_lock_forks_apply_by_their_resolution_markers(tmp_path):
    lock = tmp_path / "uv.lock"
    lock.write_text(f'''version = 1
resolution-markers = ["python_full_version >= '3.12'", "python_full_version < '3.12'"]
[[package]]
name = "numpy"
version = "2.4.6"
source = {{ registry = "https://pypi.org/simple" }}
resolution-markers = ["python_full_version < '3.12'"]
wheels = [{{ url = "https://f.example/numpy-2.4.6-cp311-cp311-manylinux_2_17_aarch64.whl", hash = "sha256:{H[0]}" }}]
[[package]]
name = "numpy"
version = "2.5.5"
source = {{ registry = "https://pypi.org/simple" }}
resolution-markers = ["python_full_version >= '3.12'"]
wheels = [{{ url = "https://f.example/numpy-2.5.5-cp313-cp313-manylinux_2_17_x86_64.whl", hash = "sha256:{H[1]}" }}]
''')
    packages, _ = lr.read_lock(str(lock))
    build = lr.plan(packages, [GNU_313, ARM_311], "hub", {}, "//:uv.lock")["build_files"]["numpy/BUILD.bazel"]
    assert '"@rules_py_standalone//rules/private/pypi:linux_x86_64_gnu_3_13": "2.5.5"' in build
    assert '"@rules_py_standalone//rules/private/pypi:linux_aarch64_gnu_3_11": "2.4.6"' in build


def test_bad_toml_names_the_file(tmp_path):
    lock = tmp_path / "pylock.toml"
    lock.write_text("lock-version = ")
    with pytest.raises(lr.LockError, match="pylock.toml: not a valid TOML file"):
        lr.read_lock(str(lock))


def test_configured_indexes_follow_pip():
    env = {"PIP_INDEX_URL": "https://mirror.example/simple", "PIP_EXTRA_INDEX_URL": "https://extra.example/simple", "HOME": "/nonexistent"}
    assert lr.configured_indexes(env, [], None) == ["https://mirror.example/simple", "https://extra.example/simple"]
    assert lr.configured_indexes(env, ["https://lock.example/simple"], None) == ["https://lock.example/simple"]
    assert lr.configured_indexes(env, [], "https://attr.example/simple")[0] == "https://attr.example/simple"
