"""Module extensions for users of rules_py_standalone (docs/pypi.md).

    pypi = use_extension("@rules_py_standalone//rules:extensions.bzl", "pypi")
    pypi.lock(name = "pypi", lock = "//:pylock.toml")   # or requirements = ..., or uv_lock = ...
    use_repo(pypi, "pypi")

Then `@pypi//<package>` (normalized name: `@pypi//markupsafe`) goes in a binary's deps.
"""

load("//rules/private/pypi:repositories.bzl", "declare_pypi_repos", "lock_of", "plan_lock")

def _pypi_impl(module_ctx):
    hubs = {}
    for mod in module_ctx.modules:
        for tag in mod.tags.lock:
            if tag.name in hubs:
                fail("pypi.lock(name = %r) is declared twice (%s and %s); give each lock its own name" % (tag.name, hubs[tag.name], mod.name))
            hubs[tag.name] = mod.name
            lock, kind = lock_of(tag, "pypi.lock(name = %r) in %s" % (tag.name, mod.name))
            declare_pypi_repos(tag.name, plan_lock(module_ctx, tag.name, lock, kind, tag.index_url, tag.requirements_in))
    return module_ctx.extension_metadata(reproducible = True)

pypi = module_extension(
    implementation = _pypi_impl,
    doc = "PyPI packages from a lock file, one wheel per target platform and CPython version.",
    tag_classes = {
        "lock": tag_class(
            attrs = {
                "index_url": attr.string(doc = "Index for looking up the files of a hashed requirements file (default: pip's configuration, else PyPI)."),
                "lock": attr.label(doc = "A PEP 751 pylock.toml, or a uv.lock."),
                "name": attr.string(mandatory = True, doc = "Name of the hub repository: @<name>//<package>."),
                "requirements": attr.label(doc = "A requirements file with hashes (pip-compile/uv pip compile --generate-hashes)."),
                "requirements_in": attr.label(doc = "The input the lock was made from by tools/lock: the build fails when the lock is stale."),
                "uv_lock": attr.label(doc = "A uv.lock."),
            },
            doc = "One lock file: its packages become @<name>//<package>.",
        ),
    },
    environ = ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE"],
)
