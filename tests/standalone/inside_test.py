"""Runs inside a standalone binary (py_standalone_test): checks the importer from the inside."""

import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import pkgutil
import sys
import unittest


class InsideTest(unittest.TestCase):
    def test_modules_come_from_the_binary(self):
        self.assertTrue(json.__file__.startswith(sys.executable + "/"))
        self.assertIsNot(type(json.__spec__.loader), importlib.machinery.SourceFileLoader)
        self.assertEqual(json.__spec__.loader.get_filename("json"), json.__file__)

    def test_no_path_based_finder_found_anything(self):
        self.assertEqual(sys.path, [sys.executable])
        self.assertNotIn(importlib.machinery.FileFinder,
                         [type(f) for f in sys.path_importer_cache.values() if f is not None])

    def test_get_code_and_is_package(self):
        loader = importlib.util.find_spec("email").loader
        self.assertTrue(loader.is_package("email"))
        self.assertFalse(loader.is_package("email.utils"))
        self.assertEqual(loader.get_code("email.utils").co_filename, sys.executable + "/email/utils.py")
        self.assertIsNone(loader.get_source("email.utils"))  # embed_sources = False

    def test_code_file_names_are_module_files(self):
        import email.utils
        # As with CPython's own loaders: tracebacks, warnings and inspect name __file__.
        self.assertEqual(email.utils.parseaddr.__code__.co_filename, email.utils.__file__)
        self.assertEqual(inspect.getmodule(email.utils.parseaddr), email.utils)
        self.assertEqual(inspect.getfile(type(self)), __file__)

    def test_pkgutil_walks_packed_packages(self):
        names = {m.name for m in pkgutil.iter_modules(importlib.import_module("json").__path__)}
        self.assertEqual(names, {"decoder", "encoder", "scanner", "tool"})
        self.assertIn("json", {m.name for m in pkgutil.iter_modules()})

    def test_reload(self):
        import importlib
        import textwrap
        self.assertIs(importlib.reload(textwrap), textwrap)

    def test_missing_submodule_of_packed_package(self):
        with self.assertRaises(ModuleNotFoundError) as raised:
            importlib.import_module("json.no_such_module")
        self.assertEqual(raised.exception.name, "json.no_such_module")


if __name__ == "__main__":
    unittest.main()
