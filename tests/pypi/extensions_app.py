"""Uses C extension modules from wheels; prints what a test compares with stock CPython's output."""

import importlib.metadata
import importlib.resources
import json
import sys

import markupsafe
import numpy
import yaml

escaped = markupsafe.escape("<a href='x'>&</a>")
document = yaml.load("a: [1, 2.5, {b: c}]\nd: !!str 3\n", Loader=yaml.CSafeLoader)
matrix = numpy.array([[3.0, 1.0], [1.0, 2.0]])
solution = numpy.linalg.solve(matrix, numpy.array([9.0, 8.0]))
product = matrix @ matrix.T
print(json.dumps({
    "escaped": str(escaped),
    "speedups": "markupsafe._speedups" in sys.modules and "markupsafe._native" not in sys.modules,
    "yaml": document,
    "yaml_loader": yaml.CSafeLoader.__mro__[1].__module__,
    "solve": [round(x, 12) for x in solution.tolist()],
    "product": product.tolist(),
    "numpy": numpy.__version__,
    "file_suffix": numpy._core._multiarray_umath.__file__.rsplit("/", 1)[-1],
    # The wheels' .dist-info (importlib.metadata) and package data (importlib.resources).
    "metadata": [importlib.metadata.version("numpy"), importlib.metadata.version("PyYAML"),
                 importlib.metadata.metadata("markupsafe")["Name"],
                 sorted(str(f) for f in importlib.metadata.files("markupsafe"))[:3]],
    "numpy_libs_listed": sum(str(f).startswith("numpy.libs/") for f in importlib.metadata.files("numpy")),
    "py_typed": [importlib.resources.files(p).joinpath("py.typed").is_file() for p in ("numpy", "markupsafe")],
}, sort_keys=True))
sys.exit(0)
