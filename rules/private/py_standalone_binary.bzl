"""Implementation of py_standalone_binary and py_standalone_test (public API: //rules:defs.bzl).

The steps, each one action (tools/ has one module per step):
  1. compile: the application's modules to bytecode (the stdlib is compiled once per toolchain);
  2. pack: select the stdlib modules and write the packed resources + a module report;
  3. emit: wrap the packed resources in an object file;
  4. link_plan: linker inputs and extension inittab from the distribution's PYTHON.json;
  5. link everything with the target platform's C/C++ toolchain: the C runtime (//runtime,
     compiled once per configuration; the binary's settings are in its packed resources) and
     the binary's own inittab.c;
  6. audit the executable (a validation action);
  7. size_report, only in its output group: a second link for the linker's map, then a treemap
     and a table of what each part costs in the executable (tools/size_report).
The steps are shared with py_standalone_library (rules/private/standalone_steps.bzl).
A binary whose wheels have extension modules exports the C API (-rdynamic) and links the
toolchain's copies of the static libraries whose symbols are hidden (tools/hide_symbols, made
once per distribution), so that it exports nothing else.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain", "use_cpp_toolchain")
load("//rules/private:stamp.bzl", "stamping")
load("//rules/private:runtime_library.bzl", "RpsRuntimeInfo")
load("//rules/private:standalone_steps.bzl", "MODULE_ATTRS", "TOOLCHAIN_TYPE", "audit", "compile_inittab", "emit_object", "is_identifier", "link_map", "pack_resources", "plan_link", "runtime_objects", "size_report", "version_transition")

# The generated main module of console_script / entry_point binaries (tools/compile).
_ENTRY_POINT_MODULE = "_rps_main"

def _find_main(ctx):
    if ctx.attr.console_script or ctx.attr.entry_point:
        if ctx.attr.console_script and ctx.attr.entry_point:
            fail("%s: set console_script or entry_point, not both" % ctx.label)
        if ctx.file.main:
            fail("%s: main and %s both name the program; keep one" % (ctx.label, "console_script" if ctx.attr.console_script else "entry_point"))
        return None
    if ctx.file.main:
        return ctx.file.main
    wanted = ctx.label.name + ".py"
    for src in ctx.files.srcs:
        if src.basename == wanted and src.owner.package == ctx.label.package:
            return src
    fail(("%s: no main module: set main = \"<file>.py\", or add %s to srcs " +
          "(the default main is <name>.py)") % (ctx.label, wanted))

def _py_standalone_binary_impl(ctx):
    toolchain = ctx.toolchains[TOOLCHAIN_TYPE].py_standalone
    cc_toolchain = find_cpp_toolchain(ctx)
    main = _find_main(ctx)
    name = ctx.label.name
    main_module = main.basename[:-3] if main else _ENTRY_POINT_MODULE
    if not is_identifier(main_module):
        fail("%s: main %s: '%s' is not a valid Python module name; rename the file (letters, digits, _)" % (ctx.label, main.short_path, main_module))
    entry_point = None
    if ctx.attr.console_script:
        entry_point = {"console_script": ctx.attr.console_script}
    elif ctx.attr.entry_point:
        entry_point = {"object": ctx.attr.entry_point}

    packed = pack_resources(
        ctx,
        toolchain,
        rule_name = "py_standalone_binary",
        main = main,
        main_module = main_module,
        settings = [
            "MAIN = %r" % main_module,
            "PYTHON_COMMAND_LINE = %s" % ("True" if ctx.attr.python_command_line else "False"),
            "EXTENSION_CACHE = %s" % ("True" if ctx.attr.extension_cache else "False"),
            "DATA_ON_DISK = %r" % (tuple(ctx.attr.data_on_disk),),
        ],
        entry_point = entry_point,
        data_on_disk = ctx.attr.data_on_disk,
    )
    compiled_wheels = packed.compiled_wheels
    blob_object = emit_object(ctx, toolchain, packed.blob)
    link_params, inittab = plan_link(ctx, toolchain, packed.unused_extensions, export_c_api = bool(compiled_wheels), hidden_libraries = bool(compiled_wheels))

    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    # The runtime's own functions are not for extension modules either (see the link below).
    compiled = cc_common.merge_compilation_outputs(compilation_outputs = [
        runtime_objects(ctx, hidden_visibility = bool(compiled_wheels)),
        compile_inittab(ctx, cc_toolchain, feature_configuration, toolchain, inittab, hidden_visibility = bool(compiled_wheels)),
    ])
    stamp_object = _stamp_object(ctx, toolchain)
    blob_outputs = cc_common.create_compilation_outputs(
        objects = depset([blob_object, stamp_object]),
        pic_objects = depset([blob_object, stamp_object]),
    )
    # Extension modules from wheels link against the CPython C API in the binary: export
    # it, with all of libpython linked in (link_plan). -rdynamic exports every symbol of
    # default visibility, so the other static libraries are linked from the toolchain's
    # copies whose symbols are all hidden (tools/hide_symbols): only the C API is exported,
    # and a wheel's own OpenSSL, libffi, ... never binds to the binary's (docs/pypi.md).
    user_link_flags = ["@" + link_params.path] + (["-rdynamic"] if compiled_wheels else [])
    link_inputs = [link_params, toolchain.distribution] + ([toolchain.hidden_libraries] if compiled_wheels else [])
    linked = cc_common.link(
        name = name,
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        compilation_outputs = cc_common.merge_compilation_outputs(compilation_outputs = [compiled, blob_outputs]),
        user_link_flags = user_link_flags,
        additional_inputs = link_inputs,
        output_type = "executable",
    )
    executable = linked.executable

    # Only for --output_groups=+size_report: a second link that writes the linker's map.
    objects = (compiled.pic_objects or compiled.objects) + [blob_object, stamp_object]
    map_file = link_map(ctx, cc_toolchain, feature_configuration, objects, user_link_flags, link_inputs)
    size_files = size_report(ctx, executable, map_file, packed.report, toolchain, objects + link_inputs, hidden_libraries = bool(compiled_wheels))

    # The audit gate: `bazel build` fails when the binary breaks its platform's policy.
    audit_stamp = audit(ctx, toolchain, executable, name + ".audit.txt")
    data_dir = packed.data_dir
    outputs = [executable] + ([data_dir] if data_dir else [])
    return [
        DefaultInfo(
            executable = executable,
            files = depset(outputs),
            runfiles = ctx.runfiles(outputs),
        ),
        OutputGroupInfo(
            # The generated inputs of the compile and link steps, for golden tests (tests/golden).
            generated = depset([packed.manifest, link_params, inittab]),
            module_report = depset([packed.report]),
            size_report = depset(size_files),
            _validation = depset([audit_stamp]),
        ),
        RunEnvironmentInfo(environment = ctx.attr.env),
    ]

def _stamp_object(ctx, toolchain):
    """The release stamp: the only action that reads the workspace status, and only the link
    takes its output, so stamping re-runs this and the link and nothing upstream."""
    stamp_object = ctx.actions.declare_file(ctx.label.name + ".rps/stamp.o")
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
    return stamp_object

_ATTRS = {
    "console_script": attr.string(
        doc = "Run this console script of a package in deps (its entry_points.txt) as the program, " +
              "e.g. \"pygmentize\"; instead of main.",
    ),
    "entry_point": attr.string(doc = "Run \"package.module:function\" as the program (its return value is the exit status); instead of main."),
    "data_on_disk": attr.string_list(
        doc = "Packages whose C code opens their data files by path (fopen), which the in-memory " +
              "view cannot serve: their package data is also written to <name>.data/ beside the " +
              "executable, their __file__ and __path__ point there, and each file is compared with " +
              "its packed copy when the package is imported. The binary is then no longer one file.",
    ),
    "env": attr.string_dict(doc = "Environment for `bazel run` and `bazel test`."),
    "isolated": attr.bool(
        default = True,
        doc = "Ignore PYTHON* environment variables (like `python -I`). The binary never reads the " +
              "user site directory or the current directory.",
    ),
    "main": attr.label(
        allow_single_file = [".py"],
        doc = "The program's main module (default: <name>.py in srcs). It runs as __main__, like `python -m`.",
    ),
    "python_command_line": attr.bool(
        default = False,
        doc = "Take the arguments as python does (-c, -m, a script, -W/-X options), for tools that " +
              "re-run sys.executable as Python; main then runs without arguments, or as `-m <main>`. " +
              "Off by default so the program's own arguments are never taken.",
    ),
    "stamp": attr.int(
        default = -1,
        values = [-1, 0, 1],
        doc = "Stamp the workspace status's STABLE_* keys and --embed_label into the binary, read at " +
              "run time with `_rps_blob.stamp()` (docs/releases.md). -1: when --stamp is on; 1: always; 0: never.",
    ),
    # The runtime's Python half, packed as _<file name>.
    "_runtime_py": attr.label_list(default = ["//runtime:rps_importer.py", "//runtime:rps_support.py", "//runtime:rps_view.py"], allow_files = [".py"]),
    "_runtime": attr.label(default = "//runtime:binary_runtime", providers = [RpsRuntimeInfo]),
    "_runtime_hidden": attr.label(default = "//runtime:binary_runtime_hidden", providers = [RpsRuntimeInfo]),
    "_runtime_hidden_zstd": attr.label(default = "//runtime:binary_runtime_hidden_zstd", providers = [RpsRuntimeInfo]),
    "_runtime_zstd": attr.label(default = "//runtime:binary_runtime_zstd", providers = [RpsRuntimeInfo]),
    "_stamp": attr.label(default = "//tools/stamp", executable = True, cfg = "exec"),
    "_stamp_setting": attr.label(default = "//rules/private:stamp"),
}

def _make_rule(test):
    return rule(
        implementation = _py_standalone_binary_impl,
        attrs = dict(MODULE_ATTRS, **_ATTRS),
        cfg = version_transition,
        executable = not test,
        test = test,
        fragments = ["cpp"],
        toolchains = use_cpp_toolchain() + [TOOLCHAIN_TYPE],
        doc = ("A test whose main runs inside a standalone binary." if test else
               "One self-contained executable: a static CPython, the stdlib and the program, imported from memory."),
    )

py_standalone_binary = _make_rule(test = False)
py_standalone_test = _make_rule(test = True)
