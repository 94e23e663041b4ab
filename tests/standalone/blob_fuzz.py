"""Differential fuzzing of the packed resources' index checks: the runtime's C checks
(`_rps_blob.check_index`, the code every binary runs at start-up) against the Python reader
(tools/formats/resources.py): first on every damaged blob of the Python reader's unit tests
(tests/tools/damaged_blobs.py), then on random damage to copies of small blobs and of this
binary's own blob.

    blob_fuzz [--iterations N] [--seed S]      (--iterations 0: the unit tests' cases only)

Both must accept or refuse each input alike; the C side must never crash or read outside the
bytes it was given (each input ends where an inaccessible page begins, so a read past its end
kills the process). On the unit tests' cases, the C check must also do what the case says: refuse
it, naming the check the Python reader names, or, for a case checked at first use, accept it.
Exit status 1 names the cases that fail and the first disagreements with the seed and iteration
that reproduce them.
"""

import argparse
import ctypes
import mmap
import os
import random
import re
import signal
import struct
import sys
import traceback

import _rps_blob
from tests.tools import damaged_blobs
from tools.formats import resources

PROT_NONE = 0  # <sys/mman.h>; the mmap module has no name for it
EDGE_VALUES = (0, 1, 3, 4, 16, 31, 32, 79, 80, 81, 95, 96, 97, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
# The one documented difference: the runtime never decodes names at start-up (a lookup by str
# cannot match a name that is not UTF-8), the Python reader decodes every name when it opens.
NOT_UTF8 = "name is not UTF-8"


def seed_blobs() -> list[bytes]:
    entry = resources.Entry
    code = b"\xe3" + bytes(range(60))
    # The index checks never decompress: a COMPRESSED payload and a dictionary need only be there.
    frame = struct.pack("<I", len(code)) + b"\x28\xb5\x2f\xfd" + bytes(12)
    dictionary = b"\x37\xa4\x30\xec" + bytes(60)
    small = resources.write({
        "modules": [
            entry("a", code, flags=resources.PACKAGE),
            entry("a.b", code, source=b"x = 1\n", flags=resources.SOURCE),
            entry("a.c", frame, flags=resources.COMPRESSED),
            entry("ns", b"", flags=resources.PACKAGE | resources.NAMESPACE),
            entry("_ext", b"\x7fELF" + bytes(40), flags=resources.EXTENSION),
        ],
        "resources": [entry("a/data.txt", b"data"), entry("a/empty", b"")],
        "metadata": [entry("demo-1.0.dist-info/METADATA", b"Name: demo\n")],
        "libraries": [entry("libdemo.so.1", b"\x7fELF" + bytes(24), source=b"patch")],
    }, dictionary)
    empty = resources.write({})
    return [small, empty, own_blob()]


def own_blob() -> bytes:
    """This executable's packed resources, found by their magic and checked by both readers."""
    with open(sys.executable, "rb") as file:
        data = file.read()
    at = data.find(resources.MAGIC)
    while at >= 0:
        if len(data) - at >= resources.HEADER.size:
            size = struct.unpack_from("<Q", data, at + 16)[0]
            candidate = data[at:at + size]
            if len(candidate) == size and _rps_blob.check_index(candidate) is None:
                return candidate
        at = data.find(resources.MAGIC, at + 1)
    sys.exit("blob_fuzz: this executable holds no packed resources that pass the checks")


def fix_crc(blob: bytearray) -> None:
    """Rewrites the index CRC so that damage gets past it to the checks behind it."""
    if len(blob) < resources.HEADER.size:
        return
    index_end = struct.unpack_from("<I", blob, 52)[0]
    if 64 <= index_end <= len(blob):
        struct.pack_into("<I", blob, 60, resources.index_crc(blob[:index_end]))


def mutate(rng: random.Random, seed: bytes) -> bytes:
    blob = bytearray(seed)
    index_end = struct.unpack_from("<I", blob, 52)[0]
    kind = rng.randrange(6)
    if kind == 0:  # flipped bytes in the index
        for _ in range(rng.randint(1, 4)):
            blob[rng.randrange(index_end)] ^= 1 << rng.randrange(8)
    elif kind == 1:  # a field of the header or of an entry set to an edge value
        at = rng.randrange(0, index_end - 3, 4)
        value = rng.choice(EDGE_VALUES + (index_end, len(blob), len(blob) - 1, rng.getrandbits(32)))
        struct.pack_into("<I", blob, at, value)
    elif kind == 2:  # truncated or extended, blob_size following or not
        blob = blob[:rng.randrange(len(blob) + 1)] if rng.random() < 0.7 else blob + bytes(rng.randint(1, 64))
        if len(blob) >= 24 and rng.random() < 0.5:
            struct.pack_into("<Q", blob, 16, len(blob))
    elif kind == 3:  # two entries of the index swapped (order, overlap)
        count = (index_end - resources.HEADER.size) // resources.ENTRY.size
        if count >= 2:
            i, j = (resources.HEADER.size + resources.ENTRY.size * rng.randrange(count) for _ in range(2))
            blob[i:i + 32], blob[j:j + 32] = blob[j:j + 32], blob[i:i + 32]
    elif kind == 4:  # a name byte made non-ASCII or NUL
        strings = struct.unpack_from("<I", blob, 48)[0]
        if strings < index_end:
            blob[rng.randrange(strings, index_end)] = rng.choice((0, 0x80, 0xC3, 0xFF, ord("a")))
    else:  # random bytes behind a valid-looking header start
        blob = bytearray(resources.MAGIC + struct.pack("<II", resources.VERSION, resources.HEADER.size)) + rng.randbytes(rng.randrange(200))
    if rng.random() < 0.85:
        fix_crc(blob)
    return bytes(blob)


class GuardedBuffer:
    """Memory whose last byte before an inaccessible page is the last byte of each input."""

    def __init__(self, capacity: int) -> None:
        self.pages = (capacity + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        self.memory = mmap.mmap(-1, (self.pages + 1) * mmap.PAGESIZE)
        self.address = ctypes.addressof(ctypes.c_char.from_buffer(self.memory))
        libc = ctypes.CDLL(None, use_errno=True)
        guard = ctypes.c_void_p(self.address + self.pages * mmap.PAGESIZE)
        if libc.mprotect(guard, ctypes.c_size_t(mmap.PAGESIZE), PROT_NONE) != 0:
            sys.exit(f"blob_fuzz: mprotect failed: errno {ctypes.get_errno()}")

    def check(self, blob: bytes) -> str | None:
        end = self.pages * mmap.PAGESIZE
        self.memory[end - len(blob):end] = blob
        with memoryview(self.memory)[end - len(blob):end] as view:
            return _rps_blob.check_index(view)


def python_verdict(blob: bytes) -> str | None:
    try:
        resources.Blob(blob)
    except resources.FormatError as error:
        return str(error)
    return None


def c_verdict_in_child(guarded: GuardedBuffer, blob: bytes) -> tuple[str | None, str | None]:
    """(the C check's verdict, None) from a child process, or (None, how the child died): a crash
    (a read past the end) then names its case instead of ending the whole run."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns to the caller
        status = 1
        try:
            os.close(read_end)
            verdict = guarded.check(blob)
            os.write(write_end, b"-" if verdict is None else b"+" + verdict.encode("utf-8", "backslashreplace"))
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return None, f"crashed ({signal.Signals(os.WTERMSIG(status)).name})"
    answer = b"".join(chunks)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not answer:
        return None, f"ended with wait status {status}"
    return (None if answer == b"-" else answer[1:].decode("utf-8")), None


AT_OFFSET = re.compile(r" \(at offset (\d+)\)$")


def same_check(c: str, python: str) -> bool:
    """Whether two refusals name the same failed check. Their words differ ("bad header_size",
    "header_size 97 != 96"), the offsets they give do not; an unknown version has no offset, and
    both readers name it with the same words."""
    c_at, python_at = AT_OFFSET.search(c), AT_OFFSET.search(python)
    if c_at or python_at:
        return bool(c_at and python_at) and c_at.group(1) == python_at.group(1)
    return c.split(" (")[0] == python.split(" (")[0]


def case_problem(guarded: GuardedBuffer, case: damaged_blobs.Case) -> str | None:
    """None when both readers treat the case as tests/tools/damaged_blobs.py says, else what differs."""
    c, died = c_verdict_in_child(guarded, case.blob)
    if died:
        return f"the C check {died}"
    python = python_verdict(case.blob)
    if case.checked_at_use:
        # Documented: both index checks accept it; the damage is found at first use.
        if c is not None or python is not None:
            return (f"refused at start-up, but checked at use ({case.checked_at_use}): "
                    f"C says {c!r}, Python says {python!r}")
        return None
    if python is None or (case.python and not re.search(case.python, python)):
        return f"the Python reader says {python!r}, the case expects {case.python!r}"
    if c is None:
        return f"the C check accepts it; Python says {python!r}"
    if case.c and case.c not in c:
        return f"the C check says {c!r}, the case expects {case.c!r}"
    if not same_check(c, python):
        return f"not the same check: C says {c!r}, Python says {python!r}"
    return None


def check_cases(guarded: GuardedBuffer, cases: tuple[damaged_blobs.Case, ...]) -> list[str]:
    """Gives every case to both readers; prints how many were checked; returns the failures."""
    failures = []
    refused = at_use = 0
    for case in cases:
        problem = case_problem(guarded, case)
        if problem:
            failures.append(f"case {case.name} ({case.test}): {problem}")
        elif case.checked_at_use:
            at_use += 1
        else:
            refused += 1
    print(f"{len(cases)} damaged-blob cases of the unit tests: {refused} refused by both, "
          f"{at_use} accepted by both at start-up (checked at first use), {len(failures)} failed")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="differential fuzzing of the packed resources' index checks")
    parser.add_argument("--iterations", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    seeds = seed_blobs()
    for seed in seeds:
        assert _rps_blob.check_index(seed) is None and python_verdict(seed) is None
    cases = damaged_blobs.cases()
    guarded = GuardedBuffer(max(map(len, seeds + [case.blob for case in cases])) + 512)
    failures = check_cases(guarded, cases)
    if failures:
        print("failed cases:", *failures, sep="\n  ")
    rng = random.Random(args.seed)
    refused: dict[str, int] = {}
    accepted = utf8_only = 0
    disagreements = []
    for iteration in range(args.iterations):
        blob = mutate(rng, seeds[iteration % len(seeds)])
        c = guarded.check(blob)
        python = python_verdict(blob)
        if c is None and python is not None and NOT_UTF8 in python:
            utf8_only += 1
        elif (c is None) != (python is None):
            disagreements.append(f"iteration {iteration} (seed {args.seed}): C says {c!r}, Python says {python!r}")
        elif c is None:
            accepted += 1
        else:
            check = re.sub(r"version \d+ is", "version N is", c.split(" (at offset")[0])
            refused[check] = refused.get(check, 0) + 1
    print(f"{args.iterations} damaged blobs: {accepted} still valid, {utf8_only} refused only by Python (non-UTF-8 name), "
          f"{sum(refused.values())} refused by both")
    for check, count in sorted(refused.items(), key=lambda item: -item[1]):
        print(f"  {count:6d}  {check}")
    if disagreements:
        print(f"{len(disagreements)} disagreements:", *disagreements[:10], sep="\n  ")
    return 1 if failures or disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
