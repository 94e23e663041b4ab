"""CPython's own tests, run by unittest inside a standalone binary (the test package is packed).

    cpython_tests_inside test.test_re test.test_typing ...

Resource-gated tests (network, GUI, large memory) stay off, as regrtest leaves them off unless
asked: unittest alone would enable every resource.
"""

import sys
import unittest

from test import support

support.use_resources = []

# Tests that cannot pass inside a binary, or that fail with the distribution's own python too.
KNOWN_FAILURES = {
    "test.test_inspect.test_inspect.TestRepl.test_getsource":
        "runs the interactive interpreter (python -i), which a standalone binary does not have",
    "test.test_inspect.test_inspect.TestSignatureDefinitions.test_threading_module_has_signatures":
        "fails under the distribution's own python too (_thread._excepthook has no valid signature)",
}


def skip_known_failures(names):
    import importlib
    for test_id, reason in KNOWN_FAILURES.items():
        module_name, class_name, method = test_id.rsplit(".", 2)
        if any(module_name == name or module_name.startswith(name + ".") for name in names):
            cls = getattr(importlib.import_module(module_name), class_name)
            setattr(cls, method, unittest.skip(reason)(getattr(cls, method)))


if __name__ == "__main__":
    skip_known_failures(sys.argv[1:])
    unittest.main(module=None, argv=["cpython_tests_inside", *sys.argv[1:]])
