"""Golden tests of the files py_standalone_binary generates (manifest.jsonl, link.params, inittab.c).

They compare the `generated` output group of each binary, normalised (tests/golden/normalize.py),
with snapshots checked in under <package>/<snapshot>/. These files come from the analysis and
the link plan, long before the link and the tests that run the binary, so most regressions in
what is packed or linked show here first.
"""

load("@rules_python//python:defs.bzl", "py_binary")
load("//tests:pytest_test.bzl", "pytest_test")

_FILES = ["manifest.jsonl", "link.params", "inittab.c"]

def golden_snapshots(name, binaries):
    """One golden test per binary, and the command that updates their snapshots.

    For each snapshot `s` this makes `s_generated` (the binary's `generated` output group)
    and the test `s_golden_test`; `name` is the update command
    (`bazel run //<package>:<name>`), which writes the normalised files to <package>/<s>/.

    Args:
      name: the update command's target name.
      binaries: {snapshot directory name: py_standalone_binary label}.
    """
    package = native.package_name()
    update_command = "tools/bazel run //%s:%s" % (package, name)
    update_args = ["--package", package]
    for snapshot, binary in binaries.items():
        generated = snapshot + "_generated"
        native.filegroup(
            name = generated,
            srcs = [binary],
            output_group = "generated",
        )
        snapshots = ["%s/%s" % (snapshot, f) for f in _FILES]
        pytest_test(
            name = snapshot + "_golden_test",
            size = "small",
            srcs = ["test_golden.py"],
            data = [":" + generated] + snapshots,
            env = {
                "GOLDEN_BINARY": str(binary),
                "GOLDEN_GENERATED": "$(rootpaths :%s)" % generated,
                "GOLDEN_SNAPSHOTS": " ".join(["$(rootpath %s)" % s for s in snapshots]),
                "GOLDEN_UPDATE_COMMAND": update_command,
            },
            deps = [":normalize"],
        )
        update_args += ["--snapshot", snapshot, "$(rootpaths :%s)" % generated]
    py_binary(
        name = name,
        srcs = ["update.py"],
        main = "update.py",
        args = update_args,
        data = [":%s_generated" % s for s in binaries],
        deps = [":normalize"],
    )
