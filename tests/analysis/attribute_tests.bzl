"""Analysis tests of py_standalone_binary's attribute errors: each bad combination fails at
analysis with a message that says what is wrong and how to fix it."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _failure_test(*fragments):
    def _impl(ctx):
        env = analysistest.begin(ctx)
        for fragment in fragments:
            asserts.expect_failure(env, fragment)
        return analysistest.end(env)

    return analysistest.make(_impl, expect_failure = True, doc = "Fails at analysis saying: " + " ... ".join(fragments))

no_main_test = _failure_test("no main module: set main = \"<file>.py\", or add no_main.py to srcs")
bad_module_name_test = _failure_test("'bad-name' is not a valid Python module name; rename the file")
two_programs_test = _failure_test("set console_script or entry_point, not both")
main_and_entry_point_test = _failure_test("main and entry_point both name the program; keep one")
