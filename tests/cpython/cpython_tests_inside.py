"""CPython's own tests, run by unittest inside a standalone binary (the test package is packed).

    cpython_tests_inside test.test_re test.test_typing ...

Resource-gated tests (network, GUI, large memory) stay off, as regrtest leaves them off unless
asked: unittest alone would enable every resource.
"""

import sys
import unittest

from test import support

support.use_resources = []

if __name__ == "__main__":
    unittest.main(module=None, argv=["cpython_tests_inside", *sys.argv[1:]])
