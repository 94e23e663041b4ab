"""CcToolchainConfigInfo for `zig cc` targeting one Linux platform."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
    "with_feature_set",
)

_COMPILE_ACTIONS = [
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

def _flags(actions, flags, features = None):
    return flag_set(
        actions = actions,
        flag_groups = [flag_group(flags = flags)],
        with_features = [with_feature_set(features = features)] if features else [],
    )

def _zig_cc_toolchain_config_impl(ctx):
    tools = "bin/{}/".format(ctx.attr.zig_target)
    tool_paths = [
        tool_path(name = name, path = tools + file)
        for name, file in {
            "gcc": "cc",
            "cpp": "cc",
            "ar": "ar",
            "ld": "ld",
            "nm": "nm",
            "objcopy": "objcopy",
            "objdump": "objdump",
            "strip": "strip",
            "gcov": "gcov",
        }.items()
    ]
    link_flags = ["-static"] if ctx.attr.static else []
    if ctx.file.libm_forward:
        # Strong libm definitions that forward to glibc: see libm_forward.c.
        link_flags.append(ctx.file.libm_forward.path)
    features = [
        feature(name = "opt"),
        feature(name = "dbg"),
        feature(name = "fastbuild"),
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [
                # Reproducible: no timestamps, no absolute paths of the sandbox in the output.
                _flags(_COMPILE_ACTIONS, [
                    "-Wno-builtin-macro-redefined",
                    "-D__DATE__=\"redacted\"",
                    "-D__TIMESTAMP__=\"redacted\"",
                    "-D__TIME__=\"redacted\"",
                    "-fno-sanitize=undefined",
                ]),
                _flags(_COMPILE_ACTIONS, ["-g", "-O0"], ["dbg"]),
                _flags(_COMPILE_ACTIONS, ["-O1"], ["fastbuild"]),
                _flags(_COMPILE_ACTIONS, ["-O2", "-DNDEBUG", "-ffunction-sections", "-fdata-sections"], ["opt"]),
            ],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [_flags(_LINK_ACTIONS, link_flags)] if link_flags else [],
        ),
        feature(name = "supports_pic", enabled = True),
        feature(name = "supports_dynamic_linker", enabled = not ctx.attr.static),
    ]
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        toolchain_identifier = "zig-" + ctx.attr.zig_target,
        host_system_name = "local",
        target_system_name = ctx.attr.zig_target,
        target_cpu = ctx.attr.cpu,
        target_libc = ctx.attr.libc,
        compiler = "zig",
        abi_version = ctx.attr.libc,
        abi_libc_version = ctx.attr.libc,
        tool_paths = tool_paths,
        features = features,
    )

zig_cc_toolchain_config = rule(
    implementation = _zig_cc_toolchain_config_impl,
    doc = "Configures `zig cc -target <zig_target>` (wrappers in the zig repository's bin/<zig_target>/).",
    attrs = {
        "cpu": attr.string(mandatory = True, doc = "Bazel's name of the target CPU."),
        "libm_forward": attr.label(
            allow_single_file = [".o"],
            doc = "Object linked into every output so glibc's libm wins over zig's compiler_rt (libm_forward.c).",
        ),
        "libc": attr.string(mandatory = True, values = ["gnu", "musl"], doc = "The target's C library."),
        "static": attr.bool(default = False, doc = "Link executables fully statically (musl)."),
        "zig_target": attr.string(mandatory = True, doc = "zig's target triple, e.g. x86_64-linux-gnu.2.17."),
    },
    provides = [CcToolchainConfigInfo],
)
