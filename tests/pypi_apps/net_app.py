"""aiohttp (client and server on 127.0.0.1), pyzmq (its vendored libzmq), psycopg2 (its vendored
libpq and OpenSSL beside the binary's own), soundfile (ctypes loads its bundled libsndfile)."""
import asyncio
import io
import ssl

import aiohttp
from aiohttp import web
import numpy as np
import psycopg2
import soundfile
import zmq


async def main():
    app = web.Application()
    app.router.add_get("/hi", lambda request: web.json_response({"hi": request.query.get("name")}))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/hi?name=zoe") as response:
            print("aiohttp", response.status, await response.json())
    await runner.cleanup()

asyncio.run(main())

context = zmq.Context()
a, b = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
a.bind("inproc://x")
b.connect("inproc://x")
a.send(b"ping")
print("zmq", b.recv(), zmq.zmq_version_info() >= (4,))
a.close(); b.close(); context.term()

print("libpq", psycopg2.__libpq_version__ > 90000, psycopg2.extensions.parse_dsn("host=127.0.0.1 dbname=x"))
print("ssl", ssl.OPENSSL_VERSION.split()[0], ssl.create_default_context().verify_mode)

buffer = io.BytesIO()
soundfile.write(buffer, np.zeros(100), 8000, format="WAV")
buffer.seek(0)
data, rate = soundfile.read(buffer)
print("soundfile", rate, data.shape, soundfile.__libsndfile_version__ != "")

# ctypes loads the same library by its path next to the package, and fails as usual where nothing is.
import ctypes
import os

import _soundfile_data

directory = os.path.dirname(_soundfile_data.__file__)
library = ctypes.CDLL(os.path.join(directory, "libsndfile_x86_64.so"))
library.sf_version_string.restype = ctypes.c_char_p
print("ctypes", library.sf_version_string().startswith(b"libsndfile"))
try:
    ctypes.CDLL(os.path.join(directory, "missing.so"))
except OSError as e:
    print("missing", type(e).__name__, "missing.so" in str(e))
