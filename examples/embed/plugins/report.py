"""A plugin run as __main__: it reads its package data and the arguments the host gave Python."""

import importlib.resources
import sys

banner = importlib.resources.files("plugins").joinpath("banner.txt").read_text(encoding="utf-8").strip()
print(f"{banner} (run as {__name__}, sys.argv[1:] = {sys.argv[1:]})")
