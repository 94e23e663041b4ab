"""viewpkg with data_on_disk: C code (libc's fopen, through ctypes) opens its data file by path."""

import ctypes
import importlib.resources
import os
import sys

import viewpkg

libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.fread.restype = ctypes.c_size_t
libc.fread.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]

path = viewpkg.data_path("greeting.txt")
print(os.path.relpath(path, sys.executable + ".data"))
stream = libc.fopen(path.encode(), b"rb")
if not stream:
    sys.exit(f"fopen({path}) failed: {os.strerror(ctypes.get_errno())}")
buffer = ctypes.create_string_buffer(256)
read = libc.fread(buffer, 1, 256, stream)
libc.fclose(stream)
print(buffer.raw[:read].decode(), end="")
# The packed copy still serves importlib.resources.
print(importlib.resources.files("viewpkg").joinpath("data/greeting.txt").read_bytes() == buffer.raw[:read])
