"""Repository rules of the `pypi` extension (docs/pypi.md) and the step that reads a lock.

Reading the lock and choosing wheels is Python (tools/pypi/lock_reader.py, on the host's
python3); this file only downloads, through Bazel's downloader: index pages (for hashed
requirements files, which name no URLs) and, lazily, each chosen wheel with its locked sha256.
"""

load(":targets.bzl", "pypi_targets_json")

_FORMATS = {"lock": None, "requirements": "requirements", "uv_lock": "uv.lock"}

def _pypi_file_impl(rctx):
    # Bazel checks the sha256: a mismatch names the URL and both hashes.
    rctx.download(url = rctx.attr.urls, sha256 = rctx.attr.sha256, output = "file/" + rctx.attr.filename)
    rctx.file("file/BUILD.bazel", 'filegroup(name = "file", srcs = ["%s"], visibility = ["//visibility:public"])\n' % rctx.attr.filename)
    rctx.file("BUILD.bazel", "")

pypi_file = repository_rule(
    implementation = _pypi_file_impl,
    doc = "One locked file (a wheel), downloaded with its sha256: `@<name>//file`.",
    attrs = {
        "filename": attr.string(mandatory = True),
        "sha256": attr.string(mandatory = True),
        "urls": attr.string_list(mandatory = True),
    },
)

def _pypi_hub_impl(rctx):
    for path, content in rctx.attr.build_files.items():
        rctx.file(path, content)

pypi_hub = repository_rule(
    implementation = _pypi_hub_impl,
    doc = "The packages of one lock: `@<name>//<package>` (BUILD files written by tools/pypi).",
    attrs = {"build_files": attr.string_dict(mandatory = True)},
)

def _run(ctx, what, arguments, environment):
    result = ctx.execute(arguments, environment = environment, quiet = True)
    if result.return_code != 0:
        fail("%s:\n%s%s" % (what, result.stderr, result.stdout))

def plan_lock(ctx, hub, lock, lock_kind, index_url, requirements_in = None):
    """Reads `lock` (a Label) with tools/pypi/lock_reader.py: {"files": {repo: ...}, "build_files": {...}}.

    ctx: a module_ctx or repository_ctx. lock_kind: "lock" (pylock.toml or uv.lock by file
    name), "requirements" or "uv_lock".
    """
    python = ctx.which("python3")
    if not python:
        fail("reading the lock %s needs python3 (3.11 or newer) on PATH" % lock)
    script = ctx.path(Label("//tools/pypi:lock_reader.py"))
    packaging = ctx.path(Label("@rps_pypi_packaging//:BUILD.bazel")).dirname.get_child("site-packages")
    environment = {"PYTHONPATH": str(packaging)}
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE", "HOME", "XDG_CONFIG_HOME"):
        value = ctx.getenv(name)
        if value != None:
            environment[name] = value
    lock_path = ctx.path(lock)
    base = [python, "-B", "-s", script]
    fmt = ["--format", _FORMATS[lock_kind]] if _FORMATS[lock_kind] else []
    work = "_%s_lock" % hub
    need_file = work + "/need.json"
    _run(ctx, "cannot read the lock %s" % lock, base + ["files", "--lock", lock_path, "--out", need_file] + fmt +
                                                (["--index-url", index_url] if index_url else []) +
                                                (["--requirements-in", ctx.path(requirements_in)] if requirements_in else []), environment)
    need = json.decode(ctx.read(need_file))
    pages = []
    if need["index_pages"]:
        if hasattr(ctx, "report_progress"):
            ctx.report_progress("looking up %d packages of %s on %s" % (len(need["index_pages"]), lock, ", ".join(need["indexes"])))
        for i, index in enumerate(need["indexes"]):
            for name in need["index_pages"]:
                url = index.rstrip("/") + "/" + name + "/"
                out = "%s/index%d/%s.html" % (work, i, name)
                result = ctx.download(url = url, output = out, allow_fail = True)
                if result.success:
                    pages.extend(["--index-page", "%s=%s=%s" % (name, ctx.path(out), url)])
    targets_file = work + "/targets.json"
    ctx.file(targets_file, pypi_targets_json())
    plan_file = work + "/plan.json"
    _run(ctx, "cannot use the lock %s" % lock, base + [
        "plan",
        "--lock",
        lock_path,
        "--lock-label",
        str(lock),
        "--targets",
        targets_file,
        "--hub",
        hub,
        "--out",
        plan_file,
    ] + fmt + pages, environment)
    return json.decode(ctx.read(plan_file))

def lock_of(tag_or_attr, where):
    """(Label, kind) of the one lock attribute that is set."""
    given = [(getattr(tag_or_attr, k), k) for k in ("lock", "requirements", "uv_lock") if getattr(tag_or_attr, k)]
    if len(given) != 1:
        fail("%s: set exactly one of lock (pylock.toml or uv.lock), requirements (a hashed requirements file) or uv_lock" % where)
    return given[0]

def declare_pypi_repos(hub, plan):
    for repo, spec in plan["files"].items():
        pypi_file(name = repo, filename = spec["filename"], sha256 = spec["sha256"], urls = spec["urls"])
    pypi_hub(name = hub, build_files = plan["build_files"])

_REPOSITORIES_BZL = '''"""Generated by rules_py_standalone from {lock}: the files of the lock, for WORKSPACE mode."""

load("@rules_py_standalone//rules/private/pypi:repositories.bzl", "pypi_file")

def pypi_repositories():
    """Declares one repository per wheel of the lock (each fetched only when a build needs it)."""
{calls}
'''

def _pypi_lock_repository_impl(rctx):
    lock, kind = lock_of(rctx.attr, "pypi_lock(name = %r)" % rctx.attr.name)
    plan = plan_lock(rctx, rctx.attr.name, lock, kind, rctx.attr.index_url, rctx.attr.requirements_in)
    for path, content in plan["build_files"].items():
        rctx.file(path, content)
    calls = [
        "    pypi_file(name = %r, filename = %r, sha256 = %r, urls = %r)" % (repo, spec["filename"], spec["sha256"], spec["urls"])
        for repo, spec in sorted(plan["files"].items())
    ]
    rctx.file("repositories.bzl", _REPOSITORIES_BZL.format(lock = lock, calls = "\n".join(calls) or "    pass"))

pypi_lock_repository = repository_rule(
    implementation = _pypi_lock_repository_impl,
    doc = "WORKSPACE mode: the hub of one lock, and `repositories.bzl` declaring its wheels.",
    attrs = {
        "index_url": attr.string(),
        "lock": attr.label(allow_single_file = True),
        "requirements": attr.label(allow_single_file = True),
        "requirements_in": attr.label(allow_single_file = True),
        "uv_lock": attr.label(allow_single_file = True),
    },
    environ = ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE"],
)
