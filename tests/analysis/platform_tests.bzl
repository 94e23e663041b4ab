"""Analysis tests of what the platform table (toolchains/platforms.bzl) decides for a binary,
through the CPython toolchain's platform entry: the audit policy, the machine of the resources
object, which CPython build is embedded; and how the distribution's interpreter runs the tools."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _action(env, mnemonic):
    found = [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]
    asserts.equals(env, 1, len(found), "one %s action" % mnemonic)
    return found[0]

def _value_after(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None

def _check_platform(env, policy, machine, distribution):
    asserts.equals(env, policy, _value_after(_action(env, "PyStandaloneAudit").argv, "--policy"), "the audit policy")
    asserts.equals(env, machine, _value_after(_action(env, "PyStandaloneEmit").argv, "--machine"), "emit's machine")
    python_json = _value_after(_action(env, "PyStandalonePack").argv, "--python-json")
    asserts.true(env, python_json.endswith("/%s/PYTHON.json" % distribution), "the distribution packed: " + python_json)

def _platform_test(policy, machine, distribution, platform):
    def _impl(ctx):
        env = analysistest.begin(ctx)
        _check_platform(env, policy, machine, distribution)
        return analysistest.end(env)

    return analysistest.make(
        _impl,
        doc = "On %s: policy %s, machine %s, distribution %s." % (platform, policy, machine, distribution),
        config_settings = {"//command_line_option:platforms": str(Label("//platforms:" + platform))},
    )

gnu_platform_test = _platform_test("linux_x86_64_gnu", "x86_64", "cpython_3_13_build", "linux_x86_64_gnu")

# cpython_of: the 2.28 platform embeds the 2.17 build (built for linux_x86_64_gnu).
gnu_2_28_platform_test = _platform_test("linux_x86_64_gnu_2_28", "x86_64", "cpython_3_13_build_interpreter", "linux_x86_64_gnu_2_28")

musl_platform_test = _platform_test("linux_x86_64_musl", "x86_64", "cpython_3_13_build", "linux_x86_64_musl")

aarch64_platform_test = _platform_test("linux_aarch64_gnu", "aarch64", "cpython_3_13_build", "linux_aarch64_gnu")

def _dist_python_tools_impl(ctx):
    env = analysistest.begin(ctx)
    for mnemonic, module in [("PyStandaloneCompile", "tools.compile.compile"), ("PyStandalonePack", "tools.pack.pack")]:
        action = _action(env, mnemonic)
        command = " ".join(action.argv)
        asserts.true(env, " -E -s -S -B -c " in command and (" . %s " % module) in command,
                     "%s runs %s from the repository root: %s" % (mnemonic, module, command))
        inputs = [f.short_path for f in action.inputs.to_list()]
        for needed in ["tools/formats/bundle.py", "tools/formats/resources.py", module.replace(".", "/") + ".py"]:
            asserts.true(env, needed in inputs, "%s has %s among its inputs" % (mnemonic, needed))
    return analysistest.end(env)

dist_python_tools_test = analysistest.make(
    _dist_python_tools_impl,
    doc = "compile and pack run as modules of this repository on the distribution's interpreter, their files among the inputs.",
)

def _runtime_flags_test(expected):
    def _impl(ctx):
        env = analysistest.begin(ctx)
        argv = _action(env, "PyStandalonePack").argv
        found = [flag for flag in ["--isolated", "--python-command-line", "--full-finalization"] if flag in argv]
        asserts.equals(env, expected, found, "pack's runtime flags")
        return analysistest.end(env)

    return analysistest.make(_impl, doc = "The binary's isolated, python_command_line and finalization reach the blob's runtime flags: %s." % expected)

# isolated = True and finalization = "fast" by default.
default_runtime_flags_test = _runtime_flags_test(["--isolated"])
full_finalization_runtime_flags_test = _runtime_flags_test(["--isolated", "--full-finalization"])
python_cli_not_isolated_runtime_flags_test = _runtime_flags_test(["--python-command-line"])
