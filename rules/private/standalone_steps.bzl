"""The build steps shared by py_standalone_binary and py_standalone_library, one function each.

Each function declares one action (or a few files) and returns what it made; the rules wire
them together. Tools live in tools/, one module per step (the rules' docstrings list the steps).
"""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load("@rules_python//python:defs.bzl", "PyInfo")
load("//rules/private/pypi:pypi_package.bzl", "PyPIPackageInfo")
load("//rules/private:runtime_library.bzl", "RpsRuntimeInfo")
load("//toolchains/private:py_standalone_toolchain.bzl", "dist_python_command")

TOOLCHAIN_TYPE = Label("//toolchains/cpython:toolchain_type")

_PYTHON_VERSION_FLAG = Label("//toolchains/cpython:python_version")

def _version_transition_impl(settings, attr):
    if attr.python_version:
        return {str(_PYTHON_VERSION_FLAG): attr.python_version}
    return {str(_PYTHON_VERSION_FLAG): settings[str(_PYTHON_VERSION_FLAG)]}

version_transition = transition(
    implementation = _version_transition_impl,
    inputs = [str(_PYTHON_VERSION_FLAG)],
    outputs = [str(_PYTHON_VERSION_FLAG)],
)

def _runfiles_path(file, workspace_name):
    """The file's path under the runfiles root: `<repo>/<path>` (main repo: workspace name)."""
    if file.short_path.startswith("../"):
        return file.short_path[3:]
    return workspace_name + "/" + file.short_path

def _origin(file):
    """How tracebacks name the file: its path in its repository, external repos prefixed."""
    if file.short_path.startswith("../"):
        return "external/" + file.short_path[3:]
    return file.short_path

def is_identifier(name):
    """Whether `name` is a valid Python identifier (ASCII letters, digits, _)."""
    if not name or name[0].isdigit():
        return False
    for c in name.elems():
        if not (c.isalnum() or c == "_"):
            return False
    return True

def _file_line(kind, workspace_name):
    """map_each for the manifest: a file as one JSON line of `kind` (docs/tools.md, the manifest)."""
    def line(file):
        if file.is_directory:
            return None
        return json.encode({kind: {"origin": _origin(file), "path": file.path, "rlocation": _runfiles_path(file, workspace_name)}})

    return line

def _root_line(root):
    return json.encode({"root": root})

def collect_inputs(ctx, main):
    """Python sources, package data and import roots of srcs + deps, as depsets (never flattened
    here: the manifest takes them through Args, tools/compile sorts them out).

    `main` (a File or None) is the main module; without one the first root is the package's
    directory. Returns struct(sources, dep_data, imports, main_root)."""
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

    # Without a main module the first root is the target's package, in the target's repository
    # (a library of another repository, such as @rules_py_standalone//examples/embed, too).
    package_dir = "/".join([p for p in [ctx.label.workspace_name or ctx.workspace_name, ctx.label.package] if p])
    return struct(
        sources = depset(transitive = sources),
        dep_data = depset(transitive = dep_data),
        imports = depset(transitive = imports),
        main_root = _runfiles_path(main, ctx.workspace_name).rpartition("/")[0] if main else package_dir,
    )

def write_manifest(ctx, manifest, inputs, header):
    """The compile step's manifest (JSON lines: docs/tools.md): `header` first, then one line per
    import root, program file, data file and other runfile of the deps, expanded lazily."""
    args = ctx.actions.args()
    args.set_param_file_format("multiline")
    args.add(json.encode(header))
    args.add_all(inputs.imports, map_each = _root_line)
    workspace_name = ctx.workspace_name
    args.add_all(inputs.sources, map_each = _file_line("file", workspace_name), allow_closure = True)
    args.add_all(ctx.files.data, map_each = _file_line("data", workspace_name), allow_closure = True)
    args.add_all(inputs.dep_data, map_each = _file_line("dep_data", workspace_name), allow_closure = True)
    ctx.actions.write(manifest, args)

def wheels_of(ctx):
    """The PyPI wheels of deps: (all wheels, those with extension modules). Flattened: the rules
    branch on whether any wheel has compiled code (the C API export, the hidden libraries)."""
    wheels = depset(transitive = [dep[PyPIPackageInfo].wheels for dep in ctx.attr.deps if PyPIPackageInfo in dep]).to_list()
    return wheels, [w for w in wheels if w.compiled]

def pack_resources(ctx, toolchain, rule_name, main, main_module, settings, entry_point = None, data_on_disk = []):
    """compile + pack: the application's bytecode, then the packed resources (docs/resources-format.md).

    Args:
      ctx: the rule context (module attributes: srcs, deps, data, optimize, prune, ...).
      toolchain: the PyStandaloneToolchainInfo.
      rule_name: the rule's name, for the generated module's docstring.
      main: the main module's File, or None.
      main_module: the module name pack checks is in the module set.
      settings: lines of the generated _rps_config module (the runtime's settings).
      entry_point: the manifest's entry_point (console_script / object), or None.
      data_on_disk: packages whose data is also written beside the executable.

    Returns:
      struct(blob, report, unused_extensions, data_dir (or None), wheels, compiled_wheels,
      manifest (the compile step's input list, for the golden tests' output group)).
    """
    name = ctx.label.name
    inputs = collect_inputs(ctx, main)
    wheels, compiled_wheels = wheels_of(ctx)
    wheel_files = [w.wheel for w in wheels] + [w.inspection for w in compiled_wheels]
    config = ctx.actions.declare_file(name + ".rps/_rps_config.py")
    ctx.actions.write(config, "\n".join(['"""Settings of this standalone program, written by %s."""' % rule_name] + settings + [""]))
    manifest = ctx.actions.declare_file(name + ".rps/manifest.jsonl")
    write_manifest(ctx, manifest, inputs, {
        "manifest": "rps-manifest-1",
        "label": str(ctx.label),
        "main_root": inputs.main_root,
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
    })

    tools = ctx.files._dist_python_tools
    optimize = ctx.attr.optimize

    app_bundle = ctx.actions.declare_file(name + ".rps/app.bundle")
    args = ctx.actions.args()
    args.add("--manifest", manifest)
    args.add("--optimize", str(optimize))
    args.add("--out", app_bundle)
    ctx.actions.run_shell(
        outputs = [app_bundle],
        inputs = depset([manifest, config, toolchain.build_interpreter] + ctx.files._runtime_py + tools + ctx.files.data + wheel_files, transitive = [inputs.sources, inputs.dep_data]),
        command = dist_python_command(toolchain.build_python, "tools.compile.compile"),
        arguments = [args],
        mnemonic = "PyStandaloneCompile",
        progress_message = "Compiling Python modules of %{label}",
    )

    blob = ctx.actions.declare_file(name + ".rps/resources.bin")
    report = ctx.actions.declare_file(name + ".modules.json")
    args = ctx.actions.args()
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
        if ctx.attr.compress_startup_modules:
            args.add("--compress-startup-modules")
        args.add("--zstandard", _site_packages(ctx.attr._zstandard, "zstandard/__init__.py"))
    args.add("--out", blob)
    args.add("--report", report)
    runtime_flags_args(ctx, args)
    unused_extensions = ctx.actions.declare_file(name + ".rps/unused_extensions.txt")
    args.add("--unused-extensions-out", unused_extensions)
    data_dir = None
    if data_on_disk:
        # Beside the executable, where the runtime looks for it (<sys.executable>.data).
        data_dir = ctx.actions.declare_directory(name + ".data")
        args.add_all(data_on_disk, before_each = "--data-on-disk")
        args.add("--data-dir", data_dir.path)
    ctx.actions.run_shell(
        outputs = [blob, report, unused_extensions] + ([data_dir] if data_dir else []),
        inputs = depset(
            [app_bundle, toolchain.stdlib_bundles[optimize], toolchain.distribution, toolchain.build_interpreter] + tools,
            transitive = [ctx.attr._zstandard[DefaultInfo].default_runfiles.files] if ctx.attr.compress else [],
        ),
        command = dist_python_command(toolchain.build_python, "tools.pack.pack"),
        arguments = [args],
        mnemonic = "PyStandalonePack",
        progress_message = "Packing the resources of %{label}",
    )
    return struct(
        blob = blob,
        report = report,
        unused_extensions = unused_extensions,
        data_dir = data_dir,
        wheels = wheels,
        compiled_wheels = compiled_wheels,
        manifest = manifest,
    )

def _site_packages(target, marker):
    """The directory that holds `marker` (a path such as "pkg/__init__.py") in a wheel's py_library."""
    for f in target[DefaultInfo].default_runfiles.files.to_list():
        if f.path.endswith("/" + marker):
            return f.path[:-len(marker) - 1]
    fail("%s has no %s" % (target.label, marker))

def emit_object(ctx, toolchain, blob):
    """emit: the packed resources as an object file defining rps_resources (tools/emit)."""
    blob_object = ctx.actions.declare_file(ctx.label.name + ".rps/resources.o")
    ctx.actions.run(
        outputs = [blob_object],
        inputs = [blob],
        executable = ctx.executable._emit,
        arguments = ["--blob", blob.path, "--machine", toolchain.machine, "--out", blob_object.path],
        mnemonic = "PyStandaloneEmit",
        progress_message = "Writing the resources object of %{label}",
    )
    return blob_object

def plan_link(ctx, toolchain, unused_extensions, export_c_api, hidden_libraries):
    """link_plan: the linker response file and the extension module table (tools/link_plan).

    export_c_api: link all of libpython (wheels' extension modules call its C API).
    hidden_libraries: link the toolchain's copies of the static libraries whose symbols are hidden.
    Returns (link params File, inittab.c File)."""
    name = ctx.label.name
    link_params = ctx.actions.declare_file(name + ".rps/link.params")
    inittab = ctx.actions.declare_file(name + ".rps/inittab.c")
    ctx.actions.run(
        outputs = [link_params, inittab],
        inputs = [toolchain.distribution, unused_extensions],
        executable = ctx.executable._link_plan,
        arguments = ["--python-json", toolchain.python_json, "--params", link_params.path, "--inittab", inittab.path,
                     "--exclude-extensions-file", unused_extensions.path] +
                    ["--exclude-extension=" + e for e in ctx.attr.exclude_extensions] +
                    (["--export-c-api"] if export_c_api else []) +
                    (["--hidden-libraries", toolchain.hidden_libraries.path] if hidden_libraries else []),
        mnemonic = "PyStandaloneLinkPlan",
        progress_message = "Planning the link of %{label}",
    )
    return link_params, inittab

def runtime_objects(ctx, hidden_visibility):
    """The C runtime's objects (//runtime:*_runtime*, compiled once per configuration): the
    variant with zstd's decoder when compress = True, hidden symbols when asked.

    Returns CcCompilationOutputs."""
    if hidden_visibility:
        runtime = ctx.attr._runtime_hidden_zstd if ctx.attr.compress else ctx.attr._runtime_hidden
    else:
        runtime = ctx.attr._runtime_zstd if ctx.attr.compress else ctx.attr._runtime
    info = runtime[RpsRuntimeInfo]
    if info.zstd != ctx.attr.compress or info.hidden_visibility != hidden_visibility:
        fail("%s: %s is not the runtime variant asked for (zstd %s, hidden %s)" % (ctx.label, runtime.label, ctx.attr.compress, hidden_visibility))
    return info.compilation_outputs

def compile_inittab(ctx, cc_toolchain, feature_configuration, toolchain, inittab, hidden_visibility):
    """Compiles the binary's own extension module table (link_plan's inittab.c).

    Returns CcCompilationOutputs."""
    _, outputs = cc_common.compile(
        name = ctx.label.name,
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        srcs = [inittab],
        public_hdrs = [toolchain.headers],
        system_includes = [toolchain.include_dir],
        user_compile_flags = ["-O2"] + (["-fvisibility=hidden"] if hidden_visibility else []),
    )
    return outputs

def runtime_flags_args(ctx, args):
    """pack's flags for the header's runtime_flags (isolated, python_command_line, finalization)."""
    if getattr(ctx.attr, "isolated", False):
        args.add("--isolated")
    if getattr(ctx.attr, "python_command_line", False):
        args.add("--python-command-line")
    if ctx.attr.finalization == "full":
        args.add("--full-finalization")

def audit(ctx, toolchain, file, stamp_name, extra_args = []):
    """The audit gate (tools/audit): a validation output; `bazel build` fails on a violation.

    The policy is the audit_policy attribute or the target platform's (the toolchain's platform
    table entry); allowed_libraries extend it."""
    stamp = ctx.actions.declare_file(stamp_name)
    ctx.actions.run(
        outputs = [stamp],
        inputs = [file],
        executable = ctx.executable._audit,
        arguments = [file.path, "--policy", ctx.attr.audit_policy or toolchain.platform.audit_policy, "--stamp", stamp.path] +
                    ["--allow-library=" + lib for lib in ctx.attr.allowed_libraries] + extra_args,
        mnemonic = "PyStandaloneAudit",
        progress_message = "Auditing %{label}",
    )
    return stamp

def link_map(ctx, cc_toolchain, feature_configuration, objects, user_link_flags, inputs):
    """The linker's map of the executable, for the size report (tools/size_report).

    zig's linker writes its map only to standard output (`--print-map`; zig cc refuses lld's
    `--Map=<file>`), which cc_common.link cannot redirect. So this is a second link with the
    executable's command line, run only when the size_report output group is asked for: the
    executable's own link stays as it is. tools/size_report checks that every loaded section
    of the executable has the address and size the map gives it.

    Args:
      ctx: the rule context.
      cc_toolchain, feature_configuration: the executable link's.
      objects: the object files, in the executable link's order.
      user_link_flags: the executable link's user_link_flags.
      inputs: the executable link's additional inputs (link params, distribution, ...).

    Returns:
      the map File.
    """
    name = ctx.label.name
    map_file = ctx.actions.declare_file(name + ".rps/link.map")
    relinked = ctx.actions.declare_file(name + ".rps/linked_for_map")
    variables = cc_common.create_link_variables(
        cc_toolchain = cc_toolchain,
        feature_configuration = feature_configuration,
        user_link_flags = user_link_flags,
        is_using_linker = True,
        is_linking_dynamic_library = False,
        # Strips as the executable's link does (--strip; fastbuild: -Wl,-S).
        must_keep_debug = False,
    )
    action = ACTION_NAMES.cpp_link_executable
    args = ctx.actions.args()
    args.add(map_file)
    args.add(cc_common.get_tool_for_action(feature_configuration = feature_configuration, action_name = action))
    args.add("-o", relinked)
    args.add_all(objects)
    args.add_all(cc_common.get_memory_inefficient_command_line(feature_configuration = feature_configuration, action_name = action, variables = variables))
    args.add("-Wl,--print-map")
    ctx.actions.run_shell(
        outputs = [map_file, relinked],
        inputs = depset(objects + inputs, transitive = [cc_toolchain.all_files]),
        command = 'map="$1"; shift; "$@" > "$map"',
        arguments = [args],
        env = cc_common.get_environment_variables(feature_configuration = feature_configuration, action_name = action, variables = variables),
        mnemonic = "PyStandaloneLinkMap",
        progress_message = "Linking %{label} again for its linker map",
    )
    return map_file

def size_report(ctx, executable, link_map_file, module_report, toolchain, linked_files, hidden_libraries):
    """size_report: what each part of the program costs in the executable (tools/size_report).

    linked_files: the objects and archives the map names (it reads their symbols).
    hidden_libraries: whether the link took tools/hide_symbols' copies of the libraries.
    Returns [<name>.size.svg (a treemap), <name>.size.txt (the same numbers as a table)]."""
    name = ctx.label.name
    svg = ctx.actions.declare_file(name + ".size.svg")
    text = ctx.actions.declare_file(name + ".size.txt")
    args = ctx.actions.args()
    args.add("--executable", executable)
    args.add("--link-map", link_map_file)
    args.add("--module-report", module_report)
    args.add("--python-json", toolchain.python_json)
    if hidden_libraries:
        args.add("--library-dir", toolchain.hidden_libraries.path)
    args.add("--title", ("@" + ctx.label.workspace_name if ctx.label.workspace_name else "") + "//%s:%s" % (ctx.label.package, ctx.label.name))
    args.add("--svg", svg)
    args.add("--text", text)
    ctx.actions.run(
        outputs = [svg, text],
        inputs = [executable, link_map_file, module_report, toolchain.distribution] + linked_files,
        executable = ctx.executable._size_report,
        arguments = [args],
        mnemonic = "PyStandaloneSizeReport",
        progress_message = "Writing the size report of %{label}",
    )
    return [svg, text]

# The module attributes of every standalone rule (what is packed and how), and the tools.
MODULE_ATTRS = {
    "allowed_libraries": attr.string_list(
        doc = "Shared libraries the audit accepts besides the platform policy's (docs/audit.md), e.g. " +
              "[\"libstdc++.so.6\"] when a dependency really needs it.",
    ),
    "audit_policy": attr.string(
        doc = "Name of the tools/audit policy to check the binary against (default: the target " +
              "platform's, e.g. linux_x86_64_gnu).",
    ),
    "data": attr.label_list(
        allow_files = True,
        doc = "Package data files, packed as resources of the package directory that contains them " +
              "(read them with importlib.resources). A file outside every package fails the build.",
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
        doc = "zstd-compress the packed bytecode of the modules the program does not import at start-up " +
              "(those the main module's and the runtime's top-level imports reach stay as they are): " +
              "a smaller file at no start-up cost; a module is decompressed when it is first imported " +
              "(docs/benchmarks.md).",
    ),
    "compress_startup_modules": attr.bool(
        default = False,
        doc = "With compress: compress the start-up modules too. The smallest file (the full stdlib's " +
              "10.5 MB of bytecode become 3.6 MB), but every start decompresses them.",
    ),
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
    "optimize": attr.int(default = 0, values = [0, 1, 2], doc = "Bytecode optimization level (python -O/-OO)."),
    "prune": attr.bool(
        default = False,
        doc = "Pack only the stdlib modules that the application's import statements reach " +
              "(see the module report); modules imported dynamically go in stdlib_include.",
    ),
    "python_version": attr.string(doc = "X.Y of the CPython to embed (default: the toolchain flag's value)."),
    "srcs": attr.label_list(allow_files = [".py"], doc = "The program's Python files."),
    "stdlib_exclude": attr.string_list(
        doc = "Stdlib modules or packages to leave out, besides the default ones (test packages, " +
              "idlelib, tkinter, turtle, turtledemo, ensurepip).",
    ),
    "stdlib_include": attr.string_list(
        doc = "Stdlib modules or packages to keep even if excluded by default or by pruning (e.g. \"test\").",
    ),
    "_dist_python_tools": attr.label(default = "//tools:dist_python_tools"),
    "_emit": attr.label(default = "//tools/emit", executable = True, cfg = "exec"),
    "_link_plan": attr.label(default = "//tools/link_plan", executable = True, cfg = "exec"),
    "_zstandard": attr.label(default = "@rps_pypi_zstandard//:pkg"),
    "_size_report": attr.label(default = "//tools/size_report", executable = True, cfg = "exec"),
    "_audit": attr.label(default = "//tools/audit", executable = True, cfg = "exec"),
    "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
}
