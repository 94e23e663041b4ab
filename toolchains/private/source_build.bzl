"""`source_build`: a third-party C library or tool built from a source archive in one action."""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")
load("//rules/private:platform_transition.bzl", "build_machine_transition")
load("//toolchains:python_versions.bzl", "DEFAULT_PYTHON_VERSION")
load("//toolchains/private:cpython_settings.bzl", "DEFAULT_OPTIMIZATION")

_PYTHON_VERSION_FLAG = str(Label("//toolchains/cpython:python_version"))
_OPTIMIZATION_FLAG = str(Label("//toolchains/cpython:optimization"))

def _cpython_settings_transition_impl(settings, attr):
    # No source build reads python_version (it picks the CPython a binary embeds; a CPython build
    # has its own `version`), and only CPython's reads optimization. With the others at their
    # defaults, each library, tool and CPython build has one configuration per platform, so one
    # build serves every binary (otherwise each version's and optimization's configuration, and
    # //... itself, would build its own).
    optimization = settings[_OPTIMIZATION_FLAG] if attr.reads_optimization else DEFAULT_OPTIMIZATION
    return {_OPTIMIZATION_FLAG: optimization, _PYTHON_VERSION_FLAG: DEFAULT_PYTHON_VERSION}

_cpython_settings_transition = transition(
    implementation = _cpython_settings_transition_impl,
    inputs = [_OPTIMIZATION_FLAG, _PYTHON_VERSION_FLAG],
    outputs = [_OPTIMIZATION_FLAG, _PYTHON_VERSION_FLAG],
)

def _host_triple(cc_toolchain):
    # Our zig targets are named like x86_64-linux-gnu.2.17; autoconf wants x86_64-linux-gnu.
    return cc_toolchain.target_gnu_system_name.split(".")[0]

def _source_build_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    out = ctx.actions.declare_directory(ctx.label.name)
    compiler = cc_toolchain.compiler_executable
    tools_dir = compiler.rpartition("/")[0]
    tools = {}
    tool_inputs = []
    for target, spec in list(ctx.attr.tools.items()) + list(ctx.attr.build_machine_tools.items()):
        directory = target[DefaultInfo].files.to_list()[0]
        name, _, relative = spec.partition("=")
        tools[name] = directory.path + "/" + (relative or "bin/" + name)
        tool_inputs.append(directory)
    programs = []
    for target, name in ctx.attr.programs.items():
        tools[name] = target[DefaultInfo].files_to_run.executable.path
        programs.append(target[DefaultInfo].files_to_run)
    # A compiler for programs that run during the build (SQLite's lemon, ...): zig for the exec
    # platform, so such programs never come from a host gcc, and never from the cross compiler.
    exec_target = "aarch64-linux-gnu.2.17" if "zig_sdk_linux_aarch64" in tools_dir else "x86_64-linux-gnu.2.17"
    cc_for_build = tools_dir.rpartition("/")[0] + "/" + exec_target + "/cc"
    libm_forward = None
    if cc_toolchain.libc == "gnu":
        # The zig repository's libm_forward.o for this target (see libm_forward.c); configure
        # scripts link with $CC directly, so it goes into LDFLAGS instead of a toolchain feature.
        zig_target = cc_toolchain.target_gnu_system_name
        libm_forward = tools_dir.rpartition("/bin/")[0] + "/libm_forward/" + zig_target + "/libm_forward.o"
    recipe = struct(
        name = ctx.label.name,
        libm_forward = libm_forward,
        archive = ctx.file.archive.path,
        host = _host_triple(cc_toolchain),
        libc = cc_toolchain.libc,
        cc = compiler,
        ar = cc_toolchain.ar_executable,
        ranlib = tools_dir + "/ranlib",
        ld = tools_dir + "/ld",
        cc_for_build = cc_for_build,
        deps = {dep.label.name: dep[DefaultInfo].files.to_list()[0].path for dep in ctx.attr.deps},
        tools = tools,
        env = ctx.attr.env,
        steps = ctx.attr.steps,
        outputs = ctx.attr.outputs,
        pyc_python = ctx.attr.pyc_python,
    )
    recipe_file = ctx.actions.declare_file(ctx.label.name + ".recipe.json")
    ctx.actions.write(recipe_file, json.encode_indent(recipe))
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = ["--recipe", recipe_file.path, "--out", out.path],
        inputs = depset(
            [ctx.file.archive, recipe_file] + tool_inputs + [d[DefaultInfo].files.to_list()[0] for d in ctx.attr.deps],
            transitive = [cc_toolchain.all_files],
        ),
        outputs = [out],
        tools = programs,
        mnemonic = "RpsSourceBuild",
        progress_message = "Building %{label} from source",
        env = {"PYTHONHASHSEED": "0"},
    )
    return [DefaultInfo(files = depset([out]))]

source_build = rule(
    implementation = _source_build_impl,
    doc = "Unpacks `archive` and runs `steps` with the target's zig toolchain; outputs one directory.",
    cfg = _cpython_settings_transition,
    attrs = {
        "archive": attr.label(mandatory = True, allow_single_file = True, doc = "The source tarball."),
        "deps": attr.label_list(doc = "Other source_build targets; `{dep:<name>}` is their output directory."),
        "env": attr.string_dict(doc = "Environment for the steps (placeholders allowed)."),
        "outputs": attr.string_dict(
            mandatory = True,
            doc = "Output path (in this target's directory) -> what to copy there, e.g. {\"lib\": \"{prefix}/lib\"}.",
        ),
        "programs": attr.label_keyed_string_dict(
            cfg = "exec",
            doc = "Executables (such as py_binary tools) the steps run -> name, as `{tool:<name>}`.",
        ),
        "pyc_python": attr.string(
            doc = "A Python of the outputs' version that runs on the exec platform (placeholders allowed); " +
                  "it recompiles `.pyc` files whose sources held the build directory's name.",
        ),
        "steps": attr.string_list(mandatory = True, doc = "Shell commands run in the unpacked tree, in order."),
        "reads_optimization": attr.bool(
            doc = "Whether the build depends on //toolchains/cpython:optimization (CPython itself); " +
                  "when False (libraries, build tools) it is built with its default. python_version " +
                  "is always its default: no source build reads it.",
        ),
        "tools": attr.label_keyed_string_dict(
            cfg = "exec",
            doc = "source_build targets of programs the steps run -> `name` (the program is <dir>/bin/<name>)" +
                  " or `name=relative/path` (the program is <dir>/<relative/path>).",
        ),
        "build_machine_tools": attr.label_keyed_string_dict(
            cfg = build_machine_transition,
            doc = "Like `tools`, built for the build machine as a target platform (x86_64 glibc), " +
                  "where the same target is built anyway: a cross build's Python for the build.",
        ),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
        "_tool": attr.label(
            default = "//tools/build_from_source",
            executable = True,
            cfg = "exec",
        ),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    fragments = ["cpp"],
)
