"""Implementation of py_standalone_binary and py_standalone_test (public API: //rules:defs.bzl).

The steps, each one action (tools/ has one module per step):
  1. compile: the application's modules to bytecode (the stdlib is compiled once per toolchain);
  2. pack: select the stdlib modules and write the packed resources + a module report;
  3. emit: wrap the packed resources in an object file;
  4. link_plan: linker inputs and extension inittab from the distribution's PYTHON.json;
  5. compile the C runtime and link everything with the target platform's C/C++ toolchain.
A binary whose wheels have extension modules exports the C API (-rdynamic) and links the
toolchain's copies of the static libraries whose symbols are hidden (tools/hide_symbols, made
once per distribution), so that it exports nothing else.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain", "use_cpp_toolchain")
load("@rules_python//python:defs.bzl", "PyInfo")
load("//rules/private:stamp.bzl", "stamping")
load("//rules/private:target_platform.bzl", "TARGET_PLATFORM_ATTRS", "audit_policy")
load("//rules/private/pypi:pypi_package.bzl", "PyPIPackageInfo")
load("//toolchains/private:py_standalone_toolchain.bzl", "dist_python_command")

TOOLCHAIN_TYPE = Label("//toolchains/cpython:toolchain_type")

# The generated main module of console_script / entry_point binaries (tools/compile).
_ENTRY_POINT_MODULE = "_rps_main"
_PYTHON_VERSION_FLAG = Label("//toolchains/cpython:python_version")

def _version_transition_impl(settings, attr):
    if attr.python_version:
        return {str(_PYTHON_VERSION_FLAG): attr.python_version}
    return {str(_PYTHON_VERSION_FLAG): settings[str(_PYTHON_VERSION_FLAG)]}

_version_transition = transition(
    implementation = _version_transition_impl,
    inputs = [str(_PYTHON_VERSION_FLAG)],
    outputs = [str(_PYTHON_VERSION_FLAG)],
)

def _runfiles_path(ctx, file):
    """The file's path under the runfiles root: `<repo>/<path>` (main repo: workspace name)."""
    if file.short_path.startswith("../"):
        return file.short_path[3:]
    return ctx.workspace_name + "/" + file.short_path

def _origin(file):
    """How tracebacks name the file: its path in its repository, external repos prefixed."""
    if file.short_path.startswith("../"):
        return "external/" + file.short_path[3:]
    return file.short_path

def _entry(ctx, file):
    return {"origin": _origin(file), "path": file.path, "rlocation": _runfiles_path(ctx, file)}

def _find_main(ctx):
    if ctx.attr.console_script or ctx.attr.entry_point:
        if ctx.attr.console_script and ctx.attr.entry_point:
            fail("%s: set console_script or entry_point, not both" % ctx.label)
        if ctx.file.main:
            fail("%s: main and %s both name the program; keep one" % (ctx.label, "console_script" if ctx.attr.console_script else "entry_point"))
        return None
    if ctx.file.main:
        if not ctx.file.main.basename.endswith(".py"):
            fail("%s: main = %s is not a .py file" % (ctx.label, ctx.file.main.short_path))
        return ctx.file.main
    wanted = ctx.label.name + ".py"
    for src in ctx.files.srcs:
        if src.basename == wanted and src.owner.package == ctx.label.package:
            return src
    fail(("%s: no main module: set main = \"<file>.py\", or add %s to srcs " +
          "(the default main is <name>.py)") % (ctx.label, wanted))

def _is_identifier(name):
    if not name or name[0].isdigit():
        return False
    for c in name.elems():
        if not (c.isalnum() or c == "_"):
            return False
    return True

def _collect_inputs(ctx, main):
    """Python sources, package data and import roots of srcs + deps, in sys.path order."""
    sources = [depset(ctx.files.srcs + ([main] if main else []))]
    imports = []
    dep_data = []
    for dep in ctx.attr.deps:
        if PyPIPackageInfo in dep:
            continue
        if PyInfo in dep:
            sources.append(dep[PyInfo].transitive_sources)
            imports.append(dep[PyInfo].imports)
        dep_data.append(dep[DefaultInfo].default_runfiles.files)
    sources = depset(transitive = sources).to_list()
    source_set = {f.path: None for f in sources}
    runfiles = depset(transitive = dep_data).to_list()
    extensions = [f.short_path for f in runfiles if f.basename.endswith(".so") and (".cpython-" in f.basename or ".abi3." in f.basename)]
    if extensions:
        fail(("%s: deps contain compiled extension modules, which a standalone binary cannot load yet " +
              "(it links its C code statically and loads nothing from disk): %s") % (ctx.label, ", ".join(extensions[:5])))
    data_files = [f for f in runfiles if f.path not in source_set and not f.is_directory and not f.path.endswith((".pyc", ".so"))]
    main_dir = _runfiles_path(ctx, main).rpartition("/")[0] if main else ctx.workspace_name + "/" + ctx.label.package
    roots = [main_dir] + depset(transitive = imports).to_list()
    repos = {}
    for f in sources + data_files + ctx.files.data:
        repos[_runfiles_path(ctx, f).partition("/")[0]] = None
    return sources, data_files, roots + repos.keys()

def _py_standalone_binary_impl(ctx):
    toolchain = ctx.toolchains[TOOLCHAIN_TYPE].py_standalone
    cc_toolchain = find_cpp_toolchain(ctx)
    main = _find_main(ctx)
    sources, dep_data, roots = _collect_inputs(ctx, main)
    name = ctx.label.name
    main_module = main.basename[:-3] if main else _ENTRY_POINT_MODULE
    if not _is_identifier(main_module):
        fail("%s: main %s: '%s' is not a valid Python module name; rename the file (letters, digits, _)" % (ctx.label, main.short_path, main_module))
    wheels = depset(transitive = [dep[PyPIPackageInfo].wheels for dep in ctx.attr.deps if PyPIPackageInfo in dep]).to_list()
    compiled_wheels = [w for w in wheels if w.compiled]
    wheel_files = [w.wheel for w in wheels] + [w.inspection for w in compiled_wheels]
    entry_point = None
    if ctx.attr.console_script:
        entry_point = {"console_script": ctx.attr.console_script}
    elif ctx.attr.entry_point:
        entry_point = {"object": ctx.attr.entry_point}

    config = ctx.actions.declare_file(name + ".rps/_rps_config.py")
    ctx.actions.write(config, "\n".join([
        '"""Settings of this standalone binary, written by py_standalone_binary."""',
        "MAIN = %r" % main_module,
        "PYTHON_COMMAND_LINE = %s" % ("True" if ctx.attr.python_command_line else "False"),
        "EXTENSION_CACHE = %s" % ("True" if ctx.attr.extension_cache else "False"),
        "DATA_ON_DISK = %r" % (tuple(ctx.attr.data_on_disk),),
        "",
    ]))
    manifest = ctx.actions.declare_file(name + ".rps/manifest.json")
    ctx.actions.write(manifest, json.encode_indent({
        "roots": roots,
        "files": [_entry(ctx, f) for f in sources],
        "data": [_entry(ctx, f) for f in ctx.files.data],
        "dep_data": [_entry(ctx, f) for f in dep_data],
        "modules": [
            {"name": "_" + f.basename[:-3], "origin": "<rules_py_standalone>/runtime/" + f.basename, "path": f.path}
            for f in ctx.files._runtime_py
        ] + [
            {"name": "_rps_config", "origin": "<rules_py_standalone>/_rps_config.py", "path": config.path},
        ],
        "wheels": [
            {
                "dist": w.dist,
                "filename": w.wheel.basename,
                "inspection": w.inspection.path if w.inspection else None,
                "path": w.wheel.path,
                "version": w.version,
            }
            for w in wheels
        ],
        "entry_point": entry_point,
    }))

    tools = ctx.files._dist_python_tools
    run_python = dist_python_command(toolchain.build_python)
    optimize = ctx.attr.optimize

    app_bundle = ctx.actions.declare_file(name + ".rps/app.bundle")
    args = ctx.actions.args()
    args.add(ctx.file._compile)
    args.add("--manifest", manifest)
    args.add("--optimize", str(optimize))
    args.add("--out", app_bundle)
    ctx.actions.run_shell(
        outputs = [app_bundle],
        inputs = depset([manifest, config, toolchain.build_interpreter] + ctx.files._runtime_py + tools + ctx.files.data + wheel_files, transitive = [depset(sources), depset(dep_data)]),
        command = run_python,
        arguments = [args],
        mnemonic = "PyStandaloneCompile",
        progress_message = "Compiling Python modules of %{label}",
    )

    blob = ctx.actions.declare_file(name + ".rps/resources.bin")
    report = ctx.actions.declare_file(name + ".modules.json")
    args = ctx.actions.args()
    args.add(ctx.file._pack)
    args.add("--stdlib-bundle", toolchain.stdlib_bundles[optimize])
    args.add("--app-bundle", app_bundle)
    args.add("--python-json", toolchain.python_json)
    args.add("--main", main_module)
    args.add_all(ctx.attr.stdlib_exclude, before_each = "--stdlib-exclude")
    args.add_all(ctx.attr.stdlib_include, before_each = "--stdlib-include")
    if ctx.attr.prune:
        args.add("--prune")
    if ctx.attr.embed_sources:
        args.add("--sources")
    if ctx.attr.compress:
        args.add("--compress")
    args.add("--out", blob)
    args.add("--report", report)
    unused_extensions = ctx.actions.declare_file(name + ".rps/unused_extensions.txt")
    args.add("--unused-extensions-out", unused_extensions)
    data_dir = None
    if ctx.attr.data_on_disk:
        # Beside the executable, where the runtime looks for it (<sys.executable>.data).
        data_dir = ctx.actions.declare_directory(name + ".data")
        args.add_all(ctx.attr.data_on_disk, before_each = "--data-on-disk")
        args.add("--data-dir", data_dir.path)
    ctx.actions.run_shell(
        outputs = [blob, report, unused_extensions] + ([data_dir] if data_dir else []),
        inputs = depset([app_bundle, toolchain.stdlib_bundles[optimize], toolchain.distribution, toolchain.build_interpreter] + tools),
        command = run_python,
        arguments = [args],
        mnemonic = "PyStandalonePack",
        progress_message = "Packing the resources of %{label}",
    )

    blob_object = ctx.actions.declare_file(name + ".rps/resources.o")
    ctx.actions.run(
        outputs = [blob_object],
        inputs = [blob],
        executable = ctx.executable._emit,
        arguments = ["--blob", blob.path, "--machine", toolchain.machine, "--out", blob_object.path],
        mnemonic = "PyStandaloneEmit",
        progress_message = "Writing the resources object of %{label}",
    )

    link_params = ctx.actions.declare_file(name + ".rps/link.params")
    inittab = ctx.actions.declare_file(name + ".rps/inittab.c")
    ctx.actions.run(
        outputs = [link_params, inittab],
        inputs = [toolchain.distribution, unused_extensions],
        executable = ctx.executable._link_plan,
        arguments = ["--python-json", toolchain.python_json, "--params", link_params.path, "--inittab", inittab.path,
                     "--exclude-extensions-file", unused_extensions.path] +
                    ["--exclude-extension=" + e for e in ctx.attr.exclude_extensions] +
                    (["--export-c-api", "--hidden-libraries", toolchain.hidden_libraries.path] if compiled_wheels else []),
        mnemonic = "PyStandaloneLinkPlan",
        progress_message = "Planning the link of %{label}",
    )

    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    _, compiled = cc_common.compile(
        name = name,
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        srcs = ctx.files._runtime_srcs + [inittab],
        private_hdrs = ctx.files._runtime_hdrs,
        public_hdrs = [toolchain.headers],
        system_includes = [toolchain.include_dir],
        local_defines = [
            "RPS_ISOLATED=%d" % (1 if ctx.attr.isolated else 0),
            "RPS_FULL_FINALIZATION=%d" % (1 if ctx.attr.finalization == "full" else 0),
        ],
        # The runtime's own functions are not for extension modules either (see the link below).
        user_compile_flags = ["-O2"] + (["-fvisibility=hidden"] if compiled_wheels else []),
    )
    # The release stamp: the only action that reads the workspace status, and only the link
    # takes its output, so stamping re-runs this and the link and nothing upstream.
    stamp_object = ctx.actions.declare_file(name + ".rps/stamp.o")
    stamp_args = ["--machine", toolchain.machine, "--out", stamp_object.path]
    if stamping(ctx):
        stamp_args += ["--status", ctx.info_file.path]
    ctx.actions.run(
        outputs = [stamp_object],
        inputs = [ctx.info_file] if stamping(ctx) else [],
        executable = ctx.executable._stamp,
        arguments = stamp_args,
        mnemonic = "PyStandaloneStamp",
        progress_message = "Writing the release stamp of %{label}",
    )
    blob_outputs = cc_common.create_compilation_outputs(
        objects = depset([blob_object, stamp_object]),
        pic_objects = depset([blob_object, stamp_object]),
    )
    linked = cc_common.link(
        name = name,
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        compilation_outputs = cc_common.merge_compilation_outputs(compilation_outputs = [compiled, blob_outputs]),
        # Extension modules from wheels link against the CPython C API in the binary: export
        # it, with all of libpython linked in (link_plan). -rdynamic exports every symbol of
        # default visibility, so the other static libraries are linked from the toolchain's
        # copies whose symbols are all hidden (tools/hide_symbols): only the C API is exported,
        # and a wheel's own OpenSSL, libffi, ... never binds to the binary's (docs/pypi.md).
        user_link_flags = ["@" + link_params.path] + (["-rdynamic"] if compiled_wheels else []),
        additional_inputs = [link_params, toolchain.distribution] + ([toolchain.hidden_libraries] if compiled_wheels else []),
        output_type = "executable",
    )
    executable = linked.executable

    # The audit gate: `bazel build` fails when the binary breaks its platform's policy.
    audit_stamp = ctx.actions.declare_file(name + ".audit.txt")
    ctx.actions.run(
        outputs = [audit_stamp],
        inputs = [executable],
        executable = ctx.executable._audit,
        arguments = [executable.path, "--policy", ctx.attr.audit_policy or audit_policy(ctx), "--stamp", audit_stamp.path] +
                    ["--allow-library=" + lib for lib in ctx.attr.allowed_libraries],
        mnemonic = "PyStandaloneAudit",
        progress_message = "Auditing %{label}",
    )
    outputs = [executable] + ([data_dir] if data_dir else [])
    return [
        DefaultInfo(
            executable = executable,
            files = depset(outputs),
            runfiles = ctx.runfiles(outputs),
        ),
        OutputGroupInfo(module_report = depset([report]), _validation = depset([audit_stamp])),
        RunEnvironmentInfo(environment = ctx.attr.env),
    ]

_ATTRS = {
    "allowed_libraries": attr.string_list(
        doc = "Shared libraries the audit accepts besides the platform policy's (docs/audit.md), e.g. " +
              "[\"libstdc++.so.6\"] when a dependency really needs it.",
    ),
    "audit_policy": attr.string(
        doc = "Name of the tools/audit policy to check the binary against (default: the target " +
              "platform's, e.g. linux_x86_64_gnu).",
    ),
    "console_script": attr.string(
        doc = "Run this console script of a package in deps (its entry_points.txt) as the program, " +
              "e.g. \"pygmentize\"; instead of main.",
    ),
    "entry_point": attr.string(doc = "Run \"package.module:function\" as the program (its return value is the exit status); instead of main."),
    "data": attr.label_list(
        allow_files = True,
        doc = "Package data files, packed as resources of the package directory that contains them " +
              "(read them with importlib.resources). A file outside every package fails the build.",
    ),
    "data_on_disk": attr.string_list(
        doc = "Packages whose C code opens their data files by path (fopen), which the in-memory " +
              "view cannot serve: their package data is also written to <name>.data/ beside the " +
              "executable, their __file__ and __path__ point there, and each file is compared with " +
              "its packed copy when the package is imported. The binary is then no longer one file.",
    ),
    "deps": attr.label_list(
        doc = "py_library targets (PyInfo) and PyPI packages (@<hub>//<package>, docs/pypi.md): their " +
              "modules, package data, metadata and extension modules are packed.",
    ),
    "embed_sources": attr.bool(
        default = False,
        doc = "Also pack the .py sources, for tracebacks with source lines and inspect.getsource().",
    ),
    "compress": attr.bool(
        default = False,
        doc = "zlib-compress the packed bytecode: about 2.5 x smaller, at the cost of decompressing " +
              "each module when it is imported (docs/benchmarks.md).",
    ),
    "env": attr.string_dict(doc = "Environment for `bazel run` and `bazel test`."),
    "extension_cache": attr.bool(
        default = False,
        doc = "Where memory files cannot hold code (no memfd_create, no /proc, vm.memfd_noexec = 2), " +
              "load the extension modules of wheels from files written once to a private cache " +
              "directory (~/.cache/rules_py_standalone/extensions, checked byte for byte at each use) " +
              "instead of failing with ImportError (docs/pypi.md).",
    ),
    "exclude_extensions": attr.string_list(
        doc = "Extension modules to leave out of the link (with the libraries only they use). " +
              "With prune = True, those that link their own libraries or are CJK codecs are left out " +
              "already when nothing imports them.",
    ),
    "finalization": attr.string(
        default = "fast",
        values = ["fast", "full"],
        doc = "How the interpreter ends. \"fast\": threads are joined, atexit handlers run and every " +
              "open file is flushed, then the garbage collector skips the objects alive at exit " +
              "(objects kept alive only by reference cycles are not finalized). \"full\": CPython's " +
              "own finalization, for programs that rely on finalizers of such objects at exit.",
    ),
    "isolated": attr.bool(
        default = True,
        doc = "Ignore PYTHON* environment variables (like `python -I`). The binary never reads the " +
              "user site directory or the current directory.",
    ),
    "main": attr.label(
        allow_single_file = [".py"],
        doc = "The program's main module (default: <name>.py in srcs). It runs as __main__, like `python -m`.",
    ),
    "optimize": attr.int(default = 0, values = [0, 1, 2], doc = "Bytecode optimization level (python -O/-OO)."),
    "prune": attr.bool(
        default = False,
        doc = "Pack only the stdlib modules that the application's import statements reach " +
              "(see the module report); modules imported dynamically go in stdlib_include.",
    ),
    "python_command_line": attr.bool(
        default = False,
        doc = "Take the arguments as python does (-c, -m, a script, -W/-X options), for tools that " +
              "re-run sys.executable as Python; main then runs without arguments, or as `-m <main>`. " +
              "Off by default so the program's own arguments are never taken.",
    ),
    "python_version": attr.string(doc = "X.Y of the CPython to embed (default: the toolchain flag's value)."),
    "srcs": attr.label_list(allow_files = [".py"], doc = "The program's Python files."),
    "stamp": attr.int(
        default = -1,
        values = [-1, 0, 1],
        doc = "Stamp the workspace status's STABLE_* keys and --embed_label into the binary, read at " +
              "run time with `_rps_blob.stamp()` (docs/releases.md). -1: when --stamp is on; 1: always; 0: never.",
    ),
    "stdlib_exclude": attr.string_list(
        doc = "Stdlib modules or packages to leave out, besides the default ones (test packages, " +
              "idlelib, tkinter, turtle, turtledemo, ensurepip).",
    ),
    "stdlib_include": attr.string_list(
        doc = "Stdlib modules or packages to keep even if excluded by default or by pruning (e.g. \"test\").",
    ),
    "_compile": attr.label(default = "//tools/compile:compile.py", allow_single_file = True),
    "_dist_python_tools": attr.label(default = "//tools:dist_python_tools"),
    "_emit": attr.label(default = "//tools/emit", executable = True, cfg = "exec"),
    # The runtime's Python half, packed as _<file name>.
    "_runtime_py": attr.label_list(default = ["//runtime:rps_importer.py", "//runtime:rps_support.py", "//runtime:rps_view.py"], allow_files = [".py"]),
    "_link_plan": attr.label(default = "//tools/link_plan", executable = True, cfg = "exec"),
    "_pack": attr.label(default = "//tools/pack:pack.py", allow_single_file = True),
    "_runtime_hdrs": attr.label(default = "//runtime:headers"),
    "_runtime_srcs": attr.label(default = "//runtime:sources"),
    "_stamp": attr.label(default = "//tools/stamp", executable = True, cfg = "exec"),
    "_stamp_setting": attr.label(default = "//rules/private:stamp"),
    "_audit": attr.label(default = "//tools/audit", executable = True, cfg = "exec"),
    "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
}

def _make_rule(test):
    return rule(
        implementation = _py_standalone_binary_impl,
        attrs = dict(TARGET_PLATFORM_ATTRS, **_ATTRS),
        cfg = _version_transition,
        executable = not test,
        test = test,
        fragments = ["cpp"],
        toolchains = use_cpp_toolchain() + [TOOLCHAIN_TYPE],
        doc = ("A test whose main runs inside a standalone binary." if test else
               "One self-contained executable: a static CPython, the stdlib and the program, imported from memory."),
    )

py_standalone_binary = _make_rule(test = False)
py_standalone_test = _make_rule(test = True)
