"""Implementation of py_standalone_library and py_standalone_shared_library (public API: //rules:defs.bzl).

A static CPython with its stdlib and the library's modules, packed and imported from memory, for
a C or C++ program that embeds Python through runtime/include/rules_py_standalone/embed.h
(docs/embedding.md). The steps are the binary's (rules/private/standalone_steps.bzl): compile,
pack, emit, link_plan, then:
  - py_standalone_library: prelink: the runtime (embed.c instead of main.c), the resources
    object and what they need of the distribution's libraries linked into one relocatable
    object whose symbols are all local but the embedding API (tools/prelink), returned as CcInfo
    for a cc_binary's deps: the host program neither sees CPython's bundled libraries (OpenSSL,
    zlib, ...) nor lends them its own. The libraries other than libpython are the toolchain's
    copies with hidden symbols (tools/hide_symbols), so nothing of them is exported either;
  - py_standalone_shared_library: the same linked into one shared object that exports only the
    embedding API (a version script), audited like a binary with the exports checked.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain", "use_cpp_toolchain")
load("//rules/private:runtime_library.bzl", "RpsRuntimeInfo")
load("//rules/private:standalone_steps.bzl", "MODULE_ATTRS", "TOOLCHAIN_TYPE", "audit", "compile_inittab", "emit_object", "pack_resources", "plan_link", "runtime_objects", "version_transition")

# What the shared object exports (its version script, and the audit's --exported-symbol).
_API_PATTERN = "rps_embed_*"

# CPython's C API, which wheels' extension modules bind to (tools/hide_symbols: is_c_api).
_C_API_PATTERNS = ["Py*", "_Py*", "PY_TIMEOUT_MAX"]

def _embed_header_context(ctx):
    """The host program's view: embed.h as <rules_py_standalone/embed.h>, nothing of Python."""
    header = ctx.file._embed_header
    include_dir = header.path[:-len("/rules_py_standalone/embed.h")]
    return cc_common.create_compilation_context(
        headers = depset([header]),
        includes = depset([include_dir]),
    )

def _py_standalone_library_impl(ctx):
    shared = ctx.attr._shared
    toolchain = ctx.toolchains[TOOLCHAIN_TYPE].py_standalone
    cc_toolchain = find_cpp_toolchain(ctx)
    name = ctx.label.name
    if shared and toolchain.platform.static:
        fail("%s: a shared object needs a dynamic C library, and %s links statically; " % (ctx.label, toolchain.platform.name) +
             "build it for a glibc platform, or use py_standalone_library (a static library) on musl")

    packed = pack_resources(
        ctx,
        toolchain,
        rule_name = "py_standalone_shared_library" if shared else "py_standalone_library",
        main = None,
        main_module = "_rps_embed",
        settings = [
            "MAIN = None",
            "PYTHON_COMMAND_LINE = False",
            "EXTENSION_CACHE = %s" % ("True" if ctx.attr.extension_cache else "False"),
            "DATA_ON_DISK = ()",
        ],
    )
    compiled_wheels = packed.compiled_wheels
    if shared and compiled_wheels:
        fail(("%s: the shared object exports only the embedding API, so the extension modules of %s " +
              "cannot bind to its CPython C API; use py_standalone_library (linked into the program, " +
              "which then exports the C API) for wheels with extension modules") % (ctx.label, ", ".join([w.dist for w in compiled_wheels])))
    blob_object = emit_object(ctx, toolchain, packed.blob)
    link_params, inittab = plan_link(ctx, toolchain, packed.unused_extensions, export_c_api = bool(compiled_wheels), hidden_libraries = True)

    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features + (["pic"] if shared else []),
        unsupported_features = ctx.disabled_features,
    )
    compiled = cc_common.merge_compilation_outputs(compilation_outputs = [
        runtime_objects(ctx, hidden_visibility = True),
        compile_inittab(ctx, cc_toolchain, feature_configuration, toolchain, inittab, hidden_visibility = True),
    ])
    blob_outputs = cc_common.create_compilation_outputs(
        objects = depset([blob_object]),
        pic_objects = depset([blob_object]),
    )
    objects = cc_common.merge_compilation_outputs(compilation_outputs = [compiled, blob_outputs])
    link_inputs = [link_params, toolchain.distribution, toolchain.hidden_libraries]
    # Extension modules of wheels bind to the C API in the program: it exports it (link_plan
    # links all of libpython); everything else it links stays hidden (docs/embedding.md).
    link_flags = ["@" + link_params.path] + (["-rdynamic"] if compiled_wheels else [])

    if not shared:
        # One relocatable object with every symbol local but the API (and the C API for wheels):
        # the host's own symbols and CPython's bundled libraries cannot meet (tools/prelink).
        prelinked = ctx.actions.declare_file(name + ".rps/" + name + ".o")
        system_libraries = ctx.actions.declare_file(name + ".rps/system_libraries.params")
        object_files = compiled.pic_objects or compiled.objects
        args = ctx.actions.args()
        args.add("--ld", cc_toolchain.ld_executable)
        args.add("--out", prelinked)
        args.add("--system-libraries-out", system_libraries)
        args.add("--params", link_params)
        args.add_all([_API_PATTERN] + (_C_API_PATTERNS if compiled_wheels else []), before_each = "--keep")
        args.add_all(object_files + [blob_object])
        ctx.actions.run(
            outputs = [prelinked, system_libraries],
            inputs = depset(object_files + [blob_object] + link_inputs, transitive = [cc_toolchain.all_files]),
            executable = ctx.executable._prelink,
            arguments = [args],
            mnemonic = "PyStandalonePrelink",
            progress_message = "Linking the private object of %{label}",
        )
        linking_context, _ = cc_common.create_linking_context_from_compilation_outputs(
            actions = ctx.actions,
            name = name,
            feature_configuration = feature_configuration,
            cc_toolchain = cc_toolchain,
            compilation_outputs = cc_common.create_compilation_outputs(
                objects = depset([prelinked]),
                pic_objects = depset([prelinked]),
            ),
            user_link_flags = ["@" + system_libraries.path] + (["-rdynamic"] if compiled_wheels else []),
            additional_inputs = [system_libraries],
            disallow_dynamic_library = True,
        )
        return [
            DefaultInfo(files = depset([packed.report])),
            CcInfo(compilation_context = _embed_header_context(ctx), linking_context = linking_context),
            OutputGroupInfo(module_report = depset([packed.report])),
        ]

    version_script = ctx.actions.declare_file(name + ".rps/exports.map")
    ctx.actions.write(version_script, "{\n  global: %s;\n  local: *;\n};\n" % _API_PATTERN)
    linked = cc_common.link(
        name = name,
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        compilation_outputs = objects,
        user_link_flags = link_flags + ["-Wl,--version-script=" + version_script.path, "-Wl,-z,now", "-Wl,-z,relro"],
        additional_inputs = link_inputs + [version_script],
        output_type = "dynamic_library",
    )
    shared_object = linked.library_to_link.resolved_symlink_dynamic_library or linked.library_to_link.dynamic_library
    stamp = audit(ctx, toolchain, shared_object, name + ".audit.txt", ["--exported-symbol=" + _API_PATTERN])
    return [
        DefaultInfo(files = depset([shared_object, ctx.file._embed_header]), runfiles = ctx.runfiles([shared_object])),
        OutputGroupInfo(module_report = depset([packed.report]), _validation = depset([stamp])),
    ]

_ATTRS = {
    # The runtime's Python half, packed as _<file name>; _rps_embed is the API's.
    "_runtime_py": attr.label_list(
        default = ["//runtime:rps_embed.py", "//runtime:rps_importer.py", "//runtime:rps_support.py", "//runtime:rps_view.py"],
        allow_files = [".py"],
    ),
    # The runtime's entry points for a host program (embed.c), symbols hidden, position-independent.
    "_runtime_hidden": attr.label(default = "//runtime:embed_runtime", providers = [RpsRuntimeInfo]),
    "_runtime_hidden_zstd": attr.label(default = "//runtime:embed_runtime_zstd", providers = [RpsRuntimeInfo]),
    "_prelink": attr.label(default = "//tools/prelink", executable = True, cfg = "exec"),
    "_embed_header": attr.label(default = "//runtime:include/rules_py_standalone/embed.h", allow_single_file = True),
}

def _make_rule(shared):
    attrs = dict(MODULE_ATTRS, **_ATTRS)
    attrs["_shared"] = attr.bool(default = shared)
    return rule(
        implementation = _py_standalone_library_impl,
        attrs = attrs,
        cfg = version_transition,
        fragments = ["cpp"],
        toolchains = use_cpp_toolchain() + [TOOLCHAIN_TYPE],
        provides = [] if shared else [CcInfo],
        doc = ("One shared object (lib<name>.so) embedding a static CPython and the library's modules, " +
               "exporting only the embedding API (rules_py_standalone/embed.h)." if shared else
               "A static CPython with the library's modules imported from memory, for a cc_binary's deps " +
               "(CcInfo): the embedding API of rules_py_standalone/embed.h (docs/embedding.md)."),
    )

py_standalone_library = _make_rule(shared = False)
py_standalone_shared_library = _make_rule(shared = True)
