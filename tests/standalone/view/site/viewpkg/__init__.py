"""A package that finds its data next to its code, by path (the files-by-path view's test)."""

import os

HERE = os.path.dirname(__file__)


def data_path(*parts: str) -> str:
    return os.path.join(HERE, "data", *parts)


def shout(text: str) -> str:
    return text.upper()  # a line the test reads back through linecache
