"""`py_standalone_toolchain`: one CPython distribution, as the binary rules need it.

The toolchain hands out the distribution (python-build-standalone "full" layout: PYTHON.json,
build/, install/), an interpreter of the same version that runs on the build machine (for
bytecode), and what is derived from them once per distribution rather than once per binary:
the compiled standard library at each optimization level and the C headers.
"""

load("//toolchains:platforms.bzl", "PLATFORMS_BY_NAME")

PyStandaloneToolchainInfo = provider(
    doc = "A static CPython for standalone binaries.",
    fields = {
        "distribution": "Directory: the distribution root (PYTHON.json, build/, install/).",
        "python_json": "String: path of PYTHON.json (inside `distribution`).",
        "version": "String: the X.Y version.",
        "machine": "String: target ELF machine for tools/emit and tools/stamp (x86_64, aarch64).",
        "platform": "struct: the target platform's entry of the platform table (toolchains/platforms.bzl): " +
                    "its audit_policy, pbs_triple, libc, ...",
        "headers": "Directory: the Python C headers (contains pythonX.Y/Python.h).",
        "include_dir": "String: the include directory to add to the compiler's search path.",
        "stdlib_bundles": "Dict int -> File: the stdlib compiled at optimization level 0, 1, 2.",
        "build_interpreter": "Directory: a distribution of the same version runnable on the build machine.",
        "build_python": "String: path of the build interpreter's executable.",
        "hidden_libraries": "Directory: copies of the distribution's static libraries but libpython, " +
                            "at their paths relative to the distribution root, with every symbol " +
                            "hidden (tools/hide_symbols); linked instead of the originals by binaries " +
                            "that export the C API. Built only when such a binary needs it.",
    },
)

# This repository's root in the execroot ("external/<name>" when it is not the main one): the
# tools import each other as `tools.<step>.<module>` from there.
_TOOLS_ROOT = Label("//tools:dist_python_tools").workspace_root or "."

# Runs module argv[2] as __main__ with argv[1] as the first sys.path entry (in place of the
# current directory, which -c would put there), then the remaining arguments as its argv.
_RUN_MODULE = "import runpy, sys; sys.path[0] = sys.argv.pop(1); runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)"

def dist_python_command(interpreter_path, module):
    """A shell command running tool `module` (e.g. "tools.pack.pack") with the distribution's
    interpreter, its arguments "$@"; the action's inputs must include //tools:dist_python_tools.

    -E -s -S: no environment, user site or site-packages; -B: write no bytecode next to the tools.
    """
    return '"{}" -E -s -S -B -c "{}" {} {} "$@"'.format(interpreter_path, _RUN_MODULE, _TOOLS_ROOT, module)

def _py_standalone_toolchain_impl(ctx):
    version = ctx.attr.version
    dist = ctx.file.distribution
    build_dist = ctx.file.build_interpreter
    python_rel = "install/bin/python" + version
    build_python = build_dist.path + "/" + python_rel
    tools = ctx.files._dist_python_tools

    headers = ctx.actions.declare_directory(ctx.label.name + "_include")
    ctx.actions.run_shell(
        outputs = [headers],
        inputs = [dist],
        command = 'cp -R "$1/install/include/." "$2/"',
        arguments = [dist.path, headers.path],
        mnemonic = "PyStandaloneHeaders",
        progress_message = "Copying the C headers of %{label}",
    )

    bundles = {}
    for level in (0, 1, 2):
        bundle = ctx.actions.declare_file("{}_stdlib_O{}.bundle".format(ctx.label.name, level))
        args = ctx.actions.args()
        args.add("--stdlib", dist.path + "/install/lib/python" + version)
        args.add("--optimize", str(level))
        args.add("--out", bundle)
        ctx.actions.run_shell(
            outputs = [bundle],
            inputs = depset([dist, build_dist] + tools),
            command = dist_python_command(build_python, "tools.compile.compile"),
            arguments = [args],
            mnemonic = "PyStandaloneCompileStdlib",
            progress_message = "Compiling the standard library of %{label} (-O" + str(level) + ")",
        )
        bundles[level] = bundle

    # Declared here, once per distribution; only binaries that link it make Bazel build it.
    hidden = ctx.actions.declare_directory(ctx.label.name + "_hidden_libraries")
    ctx.actions.run(
        outputs = [hidden],
        inputs = [dist],
        executable = ctx.executable._hide_symbols,
        arguments = ["--python-json", dist.path + "/PYTHON.json", "--out", hidden.path],
        mnemonic = "PyStandaloneHideSymbols",
        progress_message = "Hiding the symbols of the static libraries of %{label}",
    )

    platform = PLATFORMS_BY_NAME.get(ctx.attr.platform)
    if not platform:
        fail("%s: the target platform is none of rules_py_standalone's platforms (%s); build with " % (
            ctx.label,
            ", ".join(PLATFORMS_BY_NAME.keys()),
        ) + "--platforms=@rules_py_standalone//platforms:<name>")
    info = PyStandaloneToolchainInfo(
        distribution = dist,
        python_json = dist.path + "/PYTHON.json",
        version = version,
        machine = platform.cpu,
        platform = platform,
        headers = headers,
        include_dir = headers.path + "/python" + version,
        stdlib_bundles = bundles,
        build_interpreter = build_dist,
        build_python = build_python,
        hidden_libraries = hidden,
    )
    return [
        platform_common.ToolchainInfo(py_standalone = info),
        info,
        DefaultInfo(files = depset([headers] + bundles.values())),
    ]

py_standalone_toolchain = rule(
    implementation = _py_standalone_toolchain_impl,
    doc = "Declares a CPython distribution for `@rules_py_standalone//toolchains/cpython:toolchain_type`.",
    attrs = {
        "build_interpreter": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The same version's distribution built for (or runnable on) the build machine; " +
                  "it compiles bytecode. For targets the build machine runs, the distribution itself.",
        ),
        "distribution": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "Directory in python-build-standalone's 'full' layout, built for the target platform.",
        ),
        "platform": attr.string(
            mandatory = True,
            doc = "The target platform's name in the platform table (toolchains/platforms.bzl); " +
                  "another value fails naming the table's platforms.",
        ),
        "version": attr.string(mandatory = True, doc = "X.Y version of the distribution."),
        "_dist_python_tools": attr.label(default = "//tools:dist_python_tools"),
        "_hide_symbols": attr.label(default = "//tools/hide_symbols", executable = True, cfg = "exec"),
    },
)
