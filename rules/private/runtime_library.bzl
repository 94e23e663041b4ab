"""`py_standalone_runtime`: the C runtime (runtime/), compiled once per configuration.

Every binary of a configuration (target platform, CPython version, optimization) links the same
objects: what differs between binaries travels in their packed resources (the header's runtime
flags: isolated, python_command_line, finalization; docs/resources-format.md), not in macros.
The variants are targets of runtime/BUILD.bazel: a binary's or a library's entry point, zstd's
decoder or not (compress), symbols hidden or not (binaries that export the C API to wheels'
extension modules, and libraries).
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain", "use_cpp_toolchain")

TOOLCHAIN_TYPE = Label("//toolchains/cpython:toolchain_type")

RpsRuntimeInfo = provider(
    doc = "The compiled C runtime of one variant.",
    fields = {
        "compilation_outputs": "CcCompilationOutputs: the runtime's objects (and pic objects).",
        "zstd": "bool: zstd's decoder is compiled in (binaries with compress = True).",
        "hidden_visibility": "bool: compiled with -fvisibility=hidden.",
    },
)

def _py_standalone_runtime_impl(ctx):
    toolchain = ctx.toolchains[TOOLCHAIN_TYPE].py_standalone
    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features + (["pic"] if ctx.attr.pic else []),
        unsupported_features = ctx.disabled_features,
    )
    srcs = ctx.files.srcs
    private_hdrs = ctx.files.hdrs
    system_includes = [toolchain.include_dir]
    if ctx.attr.zstd:
        srcs = srcs + ctx.files._zstd_decoder_srcs
        private_hdrs = private_hdrs + ctx.files._zstd_decoder_hdrs
        system_includes = system_includes + [f.dirname for f in ctx.files._zstd_decoder_hdrs if f.basename == "zstd.h"]
    _, outputs = cc_common.compile(
        name = ctx.label.name,
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        srcs = srcs,
        private_hdrs = private_hdrs,
        public_hdrs = [toolchain.headers] + ctx.files.public_hdrs,
        # A public header is included as <its directory's name>/<its name> (rules_py_standalone/embed.h).
        includes = {f.dirname.rpartition("/")[0]: None for f in ctx.files.public_hdrs}.keys(),
        system_includes = system_includes,
        local_defines = [
            "RPS_ZSTD=%d" % (1 if ctx.attr.zstd else 0),
            # zstd's decoder: no tracing hooks (weak symbols), no legacy formats.
            "ZSTD_TRACE=0",
            "ZSTD_LEGACY_SUPPORT=0",
        ],
        # Functions that are not for extension modules or the host program stay inside.
        user_compile_flags = ["-O2"] + (["-fvisibility=hidden"] if ctx.attr.hidden_visibility else []),
    )
    objects = outputs.pic_objects or outputs.objects
    return [
        RpsRuntimeInfo(compilation_outputs = outputs, zstd = ctx.attr.zstd, hidden_visibility = ctx.attr.hidden_visibility),
        DefaultInfo(files = depset(objects)),
    ]

py_standalone_runtime = rule(
    implementation = _py_standalone_runtime_impl,
    doc = "The C runtime of standalone binaries or libraries, compiled with the CPython toolchain's headers.",
    attrs = {
        "hdrs": attr.label_list(allow_files = [".h"], doc = "The runtime's private headers."),
        "hidden_visibility": attr.bool(doc = "Compile with -fvisibility=hidden."),
        "pic": attr.bool(doc = "Position-independent code (shared objects)."),
        "public_hdrs": attr.label_list(
            allow_files = [".h"],
            doc = "Headers of an API the runtime defines, included as <directory>/<name> (rules_py_standalone/embed.h).",
        ),
        "srcs": attr.label_list(allow_files = [".c"], mandatory = True, doc = "The runtime's C files."),
        "zstd": attr.bool(doc = "Compile zstd's decoder in, for COMPRESSED entries."),
        "_zstd_decoder_hdrs": attr.label(default = "@rps_zstd_decoder//:headers"),
        "_zstd_decoder_srcs": attr.label(default = "@rps_zstd_decoder//:sources"),
    },
    fragments = ["cpp"],
    toolchains = use_cpp_toolchain() + [TOOLCHAIN_TYPE],
)
