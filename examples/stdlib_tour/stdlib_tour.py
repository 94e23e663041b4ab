"""Touches the stdlib modules that need C libraries or processes: each line is checked by a test."""

import asyncio
import decimal
import json
import lzma
import multiprocessing
import sqlite3
import ssl
import sys
import zlib


def square(x: int) -> int:
    return x * x


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def main() -> int:
    context = ssl.create_default_context()
    print("ssl:", ssl.OPENSSL_VERSION.split()[0], context.verify_mode == ssl.CERT_REQUIRED)
    with sqlite3.connect(":memory:") as db:
        print("sqlite3:", db.execute("select sum(value) from json_each('[1, 2, 3]')").fetchone()[0])
    print("json:", json.dumps({"a": [1, 2.5, None]}, sort_keys=True))
    print("decimal:", decimal.Decimal(1) / decimal.Decimal(7))
    try:
        import ctypes
    except OSError:  # a fully static (musl) binary has no dynamic loader: ctypes cannot load
        print("ctypes: unavailable in a static binary")
    else:
        print("ctypes:", ctypes.CDLL(None).strlen(b"standalone"))
    print("lzma:", lzma.decompress(lzma.compress(b"x" * 1000)) == b"x" * 1000)
    print("zlib:", zlib.crc32(b"standalone"))
    print("asyncio:", asyncio.run(_answer()))
    for method in ("spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            print(f"multiprocessing {method}:", pool.map(square, range(5)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
