"""`pypi_package`: one locked PyPI package as the configured target platform sees it.

The hub repositories of the `pypi` extension (docs/pypi.md) declare one per package; the
wheel for the target platform and CPython version is chosen when the lock is read
(tools/pypi/lock_reader.py) and reaches this rule through a select(). A wheel with compiled code
is inspected here once per configuration (tools/wheel): its extension modules, the libraries
they load and the audit of every shared object.
"""

load("//rules/private:target_platform.bzl", "TARGET_PLATFORM_ATTRS", "target_platform")
load("//toolchains:platforms.bzl", "PLATFORMS")

PyPIPackageInfo = provider(
    doc = "The wheels of a PyPI package and of everything it depends on, for one configuration.",
    fields = {
        "wheels": "depset of struct(dist, version, wheel: File, compiled: bool, inspection: File | None, label)",
    },
)

def _pypi_package_impl(ctx):
    where = "%s %s (from the lock %s)" % (ctx.attr.dist, ctx.attr.version, ctx.attr.lock)
    transitive = [dep[PyPIPackageInfo].wheels for dep in ctx.attr.deps]
    status = ctx.attr.status
    if status == "skip":
        # Its environment marker excludes this platform: nothing of it goes into the binary.
        return [PyPIPackageInfo(wheels = depset(transitive = transitive)), DefaultInfo(files = depset(transitive = [dep[DefaultInfo].files for dep in ctx.attr.deps]))]
    if status == "unsupported":
        fail(("%s: the target platform is none of the platforms wheels are chosen for (%s); build " +
              "with --platforms=@rules_py_standalone//platforms:<name>") % (where, ctx.attr.configurations))
    if status == "none" or not ctx.file.wheel:
        fail("%s: %s" % (where, ctx.attr.problem))
    wheel = ctx.file.wheel
    inspection = None
    if ctx.attr.compiled:
        platform = target_platform(ctx)
        if platform.libc == "musl":
            fail(("%s: %s has compiled extension modules, and musl binaries are fully static: they " +
                  "cannot load shared objects. Build for a glibc platform " +
                  "(//platforms:linux_x86_64_gnu), or use a pure-Python alternative.") % (where, wheel.basename))
        inspection = ctx.actions.declare_file(ctx.label.name + ".wheel.json")
        args = ctx.actions.args()
        args.add(wheel)
        args.add("--policy", platform.audit_policy)
        args.add("--out", inspection)
        ctx.actions.run(
            outputs = [inspection],
            inputs = [wheel],
            executable = ctx.executable._inspect,
            arguments = [args],
            mnemonic = "PyStandaloneWheel",
            progress_message = "Inspecting and auditing the shared objects of %s" % wheel.basename,
        )
    own = struct(
        dist = ctx.attr.dist,
        version = ctx.attr.version,
        wheel = wheel,
        compiled = ctx.attr.compiled,
        inspection = inspection,
        label = str(ctx.label),
    )
    wheels = depset([own], transitive = transitive)
    return [
        PyPIPackageInfo(wheels = wheels),
        # The wheel files of the package and of its dependencies (e.g. for tests that install them).
        DefaultInfo(files = depset([wheel], transitive = [dep[DefaultInfo].files for dep in ctx.attr.deps])),
    ]

pypi_package = rule(
    implementation = _pypi_package_impl,
    doc = "A locked PyPI package: its wheel for the configured platform, and its dependencies.",
    attrs = dict(TARGET_PLATFORM_ATTRS, **{
        "compiled": attr.bool(doc = "The chosen wheel has a platform tag (extension modules)."),
        "configurations": attr.string(default = ", ".join([t.name for t in PLATFORMS])),
        "deps": attr.label_list(providers = [PyPIPackageInfo]),
        "dist": attr.string(mandatory = True),
        "lock": attr.string(doc = "The lock file, for messages."),
        "problem": attr.string(doc = "Why no wheel runs on this configuration (status `none`), for the message."),
        "status": attr.string(values = ["wheel", "none", "skip", "unsupported"], mandatory = True),
        "version": attr.string(mandatory = True),
        "wheel": attr.label(allow_single_file = [".whl"]),
        "_inspect": attr.label(default = "//tools/wheel:inspect", executable = True, cfg = "exec"),
    }),
)
