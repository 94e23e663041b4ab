/* _rps_blob: the packed resources (docs/resources-format.md), checked once and read in place.
 *
 * The blob is linked into the executable (tools/emit) as `rps_resources`. This built-in module
 * checks its index before anything is imported from it, then serves look-ups by binary search
 * and payloads as read-only memoryviews over the executable's own pages (no copy). Each payload's
 * CRC-32 is checked the first time it is used, so start-up pays only for what it imports. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rps_blob.h"

/* liblzma's CRC-32: zlib's polynomial, with CLMUL (x86-64) or CRC instructions (ARM64) chosen
 * at its first call; 3.6x zlib's crc32() on 6 MB here (docs/benchmarks.md). tools/link_plan
 * links liblzma, which every CPython distribution has for the lzma module, into every binary. */
extern uint32_t lzma_crc32(const uint8_t *buf, size_t size, uint32_t crc);

#if RPS_ZSTD
/* Binaries built with compress = True: zstd's decoder, compiled from the pinned sources with the
 * runtime (rules/private/runtime_library.bzl). */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDDict_advanced (the dictionary by reference) */
#include "zstd.h"
#endif

#define HEADER_SIZE 96
#define ENTRY_SIZE 32
#define TABLE_COUNT 4
#define FLAG_PACKAGE 1u
#define FLAG_NAMESPACE 2u
#define FLAG_SOURCE 4u
#define FLAG_COMPRESSED 8u
#define FLAG_EXTENSION 16u
#define KNOWN_FLAGS (FLAG_PACKAGE | FLAG_NAMESPACE | FLAG_SOURCE | FLAG_COMPRESSED | FLAG_EXTENSION)
#define FORMAT_VERSION 6
#define RUNTIME_FLAGS_FIELD 56
#define DICTIONARY_FIELD 72
/* Header offsets of the tables' (offset, count) pairs: the libraries table came with version 3. */
static const uint32_t TABLE_FIELDS[TABLE_COUNT] = {24, 32, 40, 64};
static const unsigned char MAGIC[8] = {'R', 'P', 'S', 'R', 'E', 'S', 0, 0x1a};

typedef struct {
    const unsigned char *records;
    uint32_t count;
    unsigned char *verified; /* per entry: payload CRC checked */
} table_t;

static const unsigned char *blob;
static uint64_t blob_size;
static table_t tables[TABLE_COUNT];
#define ERROR_SIZE 256

static uint32_t u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

/* Formats the failed check into `error`; returns it. */
static const char *fail(char *error, const char *what, uint64_t offset) {
    snprintf(error, ERROR_SIZE, "corrupt packed resources: %s (at offset %llu)", what, (unsigned long long)offset);
    return error;
}

static int compare(const unsigned char *a, uint32_t alen, const unsigned char *b, uint32_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The checks of docs/resources-format.md ("What a reader must check") on any bytes: NULL when
 * they pass (the tables filled in, `verified` left to the caller), else `error`, naming the check. */
static const char *check_index(const unsigned char *data, uint64_t size, table_t *out, char *error) {
    if (size < HEADER_SIZE) return fail(error, "shorter than the header", 0);
    if (memcmp(data, MAGIC, 8) != 0) return fail(error, "bad magic", 0);
    if (u32(data + 8) != FORMAT_VERSION) {
        snprintf(error, ERROR_SIZE, "packed resources format version %u is not supported (this runtime reads version %d)",
                 u32(data + 8), FORMAT_VERSION);
        return error;
    }
    if (u32(data + 12) != HEADER_SIZE) return fail(error, "bad header_size", 12);
    if (u64(data + 16) != size) return fail(error, "blob_size differs from the linked size", 16);
    if (u32(data + RUNTIME_FLAGS_FIELD) & ~RPS_KNOWN_RUNTIME_FLAGS)
        return fail(error, "unknown runtime flags set", RUNTIME_FLAGS_FIELD);
    if (u32(data + 84) || u64(data + 88)) return fail(error, "reserved header bytes set", 84);
    uint32_t strings = u32(data + 48), index_end = u32(data + 52);
    if (!(HEADER_SIZE <= strings && strings <= index_end && index_end <= size))
        return fail(error, "strings_offset/index_end out of range", 48);
    static const unsigned char zero[4] = {0, 0, 0, 0};
    uint32_t crc = lzma_crc32(data, 60, 0);
    crc = lzma_crc32(zero, 4, crc);
    crc = lzma_crc32(data + 64, index_end - 64, crc);
    if (crc != u32(data + 60)) return fail(error, "index CRC-32 mismatch", 60);
    uint32_t dictionary = u32(data + DICTIONARY_FIELD), dictionary_len = u32(data + DICTIONARY_FIELD + 4);
    if (dictionary_len == 0) {
        if (dictionary || u32(data + DICTIONARY_FIELD + 8))
            return fail(error, "dictionary offset or CRC without a dictionary", DICTIONARY_FIELD);
    } else if (dictionary < index_end || (uint64_t)dictionary + dictionary_len > size) {
        return fail(error, "dictionary outside the payloads", DICTIONARY_FIELD);
    }
    uint64_t tables_end = HEADER_SIZE;
    for (int t = 0; t < TABLE_COUNT; t++) {
        uint32_t offset = u32(data + TABLE_FIELDS[t]), count = u32(data + TABLE_FIELDS[t] + 4);
        uint64_t end = (uint64_t)offset + (uint64_t)count * ENTRY_SIZE;
        if (offset < tables_end || end > strings) return fail(error, "entry table outside the index", TABLE_FIELDS[t]);
        tables_end = end;
        out[t].records = data + offset;
        out[t].count = count;
        const unsigned char *previous = NULL;
        uint32_t previous_len = 0;
        for (uint32_t i = 0; i < count; i++) {
            const unsigned char *r = data + offset + (uint64_t)i * ENTRY_SIZE;
            uint64_t at = (uint64_t)(r - data);
            uint32_t name = u32(r), name_len = u32(r + 4);
            if (name_len == 0 || name < strings || (uint64_t)name + name_len > index_end)
                return fail(error, "entry name outside the string area", at);
            for (int k = 0; k < 2; k++) {
                uint32_t start = u32(r + 8 + 8 * k), length = u32(r + 12 + 8 * k);
                if (length && (start < index_end || (uint64_t)start + length > size))
                    return fail(error, "entry payload outside the blob", at);
            }
            uint32_t flags = u32(r + 24);
            if ((flags & ~KNOWN_FLAGS) || (t != RPS_TABLE_MODULES && flags))
                return fail(error, "reserved entry flag bits set", at + 24);
            if ((flags & FLAG_COMPRESSED) && ((flags & FLAG_NAMESPACE) || u32(r + 12) < 4))
                return fail(error, "compressed entry without a length", at + 24);
            if ((flags & FLAG_EXTENSION) && (flags & (FLAG_NAMESPACE | FLAG_SOURCE | FLAG_COMPRESSED)))
                return fail(error, "extension entry with namespace, source or compressed flags", at + 24);
            if (previous && compare(previous, previous_len, data + name, name_len) >= 0)
                return fail(error, "entry names not strictly increasing", at);
            previous = data + name;
            previous_len = name_len;
        }
    }
    return NULL;
}

const char *rps_blob_check(const unsigned char *data, uint64_t size) {
    static char error[ERROR_SIZE];
    const char *problem = check_index(data, size, tables, error);
    if (problem) return problem;
    blob = data;
    blob_size = size;
    for (int t = 0; t < TABLE_COUNT; t++) {
        tables[t].verified = PyMem_RawCalloc(tables[t].count ? tables[t].count : 1, 1);
        if (!tables[t].verified) return "out of memory";
    }
    return NULL;
}

uint32_t rps_blob_runtime_flags(void) { return blob ? u32(blob + RUNTIME_FLAGS_FIELD) : 0; }

/* Binary search; returns the entry index or -1. */
static int64_t find(int t, const char *name, Py_ssize_t len) {
    uint32_t lo = 0, hi = tables[t].count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const unsigned char *r = tables[t].records + (uint64_t)mid * ENTRY_SIZE;
        int c = compare(blob + u32(r), u32(r + 4), (const unsigned char *)name, (uint32_t)len);
        if (c < 0) lo = mid + 1;
        else if (c > 0) hi = mid;
        else return mid;
    }
    return -1;
}

/* Lower bound of names >= prefix. */
static uint32_t lower_bound(int t, const char *name, Py_ssize_t len) {
    uint32_t lo = 0, hi = tables[t].count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const unsigned char *r = tables[t].records + (uint64_t)mid * ENTRY_SIZE;
        if (compare(blob + u32(r), u32(r + 4), (const unsigned char *)name, (uint32_t)len) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static const unsigned char *record(int t, Py_ssize_t i) {
    return tables[t].records + (uint64_t)i * ENTRY_SIZE;
}

static int crc_mismatch(const unsigned char *r) {
    PyErr_Format(PyExc_ImportError,
                 "corrupt packed resources: CRC-32 mismatch in entry '%.*s' (at offset %u); "
                 "the executable is damaged, rebuild or re-copy it",
                 (int)u32(r + 4), (const char *)blob + u32(r), u32(r + 8));
    return -1;
}

/* Checks the entry's CRC-32 once; sets an exception and returns -1 on mismatch. */
static int verify(int t, Py_ssize_t i) {
    if (tables[t].verified[i]) return 0;
    const unsigned char *r = record(t, i);
    uint32_t crc = lzma_crc32(blob + u32(r + 8), u32(r + 12), 0);
    crc = lzma_crc32(blob + u32(r + 16), u32(r + 20), crc);
    if (crc != u32(r + 28)) return crc_mismatch(r);
    tables[t].verified[i] = 1;
    return 0;
}

static int table_arg(int t) {
    if (t < 0 || t >= TABLE_COUNT) {
        PyErr_Format(PyExc_ValueError, "no table %d", t);
        return -1;
    }
    return 0;
}

static Py_ssize_t index_arg(int t, Py_ssize_t i) {
    if (i < 0 || (uint64_t)i >= tables[t].count) {
        PyErr_Format(PyExc_IndexError, "no entry %zd in table %d", i, t);
        return -1;
    }
    return i;
}

/* find(table, name) -> (index, flags) or None */
static PyObject *blob_find(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "find(table, name)");
    int t = (int)PyLong_AsLong(args[0]);
    if ((t == -1 && PyErr_Occurred()) || table_arg(t) < 0) return NULL;
    Py_ssize_t len;
    const char *name = PyUnicode_AsUTF8AndSize(args[1], &len);
    if (!name) return NULL;
    int64_t i = find(t, name, len);
    if (i < 0) Py_RETURN_NONE;
    return Py_BuildValue("(LI)", (long long)i, u32(record(t, i) + 24));
}

#if RPS_ZSTD
/* Made at the first compressed module (the GIL serialises their use): one decompression context,
 * and the blob's dictionary, read in place, after its CRC-32 is checked. */
static ZSTD_DCtx *zstd_context;
static ZSTD_DDict *zstd_dictionary;

static const char *zstd_prepare(void) {
    if (zstd_context) return NULL;
    uint32_t offset = u32(blob + DICTIONARY_FIELD), length = u32(blob + DICTIONARY_FIELD + 4);
    if (length) {
        if (lzma_crc32(blob + offset, length, 0) != u32(blob + DICTIONARY_FIELD + 8))
            return "dictionary CRC-32 mismatch";
        zstd_dictionary = ZSTD_createDDict_advanced(blob + offset, length, ZSTD_dlm_byRef, ZSTD_dct_fullDict, ZSTD_defaultCMem);
        if (!zstd_dictionary) return "the zstd dictionary is not valid";
    }
    zstd_context = ZSTD_createDCtx();
    return zstd_context ? NULL : "out of memory for the zstd decoder";
}

/* NULL when `source` decompresses to exactly `length` bytes at `out`, else what went wrong. */
static const char *decompress(unsigned char *out, uint32_t length, const unsigned char *source, uint32_t source_len) {
    const char *problem = zstd_prepare();
    if (problem) return problem;
    size_t got = zstd_dictionary ? ZSTD_decompress_usingDDict(zstd_context, out, length, source, source_len, zstd_dictionary)
                                 : ZSTD_decompressDCtx(zstd_context, out, length, source, source_len);
    if (ZSTD_isError(got)) return ZSTD_getErrorName(got);
    return got == length ? NULL : "the frame holds fewer bytes";
}
#else
static const char *decompress(unsigned char *out, uint32_t length, const unsigned char *source, uint32_t source_len) {
    (void)out, (void)length, (void)source, (void)source_len;
    return "this binary was built without compress = True, so without a zstd decoder";
}
#endif

/* --- Giving payload pages back once they are read -----------------------------------------
 *
 * A payload is read once: unmarshalled into a code object, or copied into a memory file. Its
 * pages would otherwise stay in the process's resident set for good, with the neighbours that
 * the kernel's fault-around (64 kB by default) maps with each fault: importing the whole stdlib
 * kept ~18 MB of the executable resident against ~5 MB for python3.13, which reads its .pyc
 * files into memory it frees, and peak RSS was 1.2 x stock's. So the pages around what was read
 * are dropped (MADV_DONTNEED): they stay in the page cache, and a later read (a re-import, a
 * resource) faults them in again from the file, unchanged. Reads next to each other in the blob
 * (a package's modules) are gathered into one run of windows and dropped with one call when a
 * read lands elsewhere: 137 calls instead of 469 for the whole stdlib, peak RSS as stock's
 * (docs/benchmarks.md has the figures and the variants weighed). Never the index or the zstd
 * dictionary, which every look-up or decompression reads. Only when every mapping of the blob is
 * a private, read-only mapping of a file, which reads back the same bytes: in anonymous memory
 * (a packer's unpacked copy) dropping would zero them. */

/* The kernel's fault-around maps this much around a faulting page (fault_around_bytes). */
#define WINDOW 65536u

static struct {
    int state;                        /* 0: not decided yet, 1: drop, -1: keep everything */
    uintptr_t pend_lo, pend_hi;       /* windows read and not dropped yet */
    uintptr_t lo, hi;                 /* the blob's whole pages */
    uintptr_t keep_lo[2], keep_hi[2]; /* the index and the dictionary, in whole pages */
} dropping;

/* Whether every mapping that holds part of [start, end) is a private read-only file mapping. */
static int file_backed(uintptr_t start, uintptr_t end) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buffer[4096];
    size_t used = 0;
    uintptr_t covered = start; /* [start, covered) is known to qualify */
    int ok = 1, done = 0;
    while (ok && !done) {
        ssize_t n = read(fd, buffer + used, sizeof buffer - 1 - used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) done = 1;
        else used += (size_t)n;
        buffer[used] = 0;
        char *line = buffer, *newline;
        while ((newline = strchr(line, '\n')) || (done && *line)) {
            if (newline) *newline = 0;
            unsigned long from, to, inode;
            char perms[5];
            if (sscanf(line, "%lx-%lx %4s %*s %*s %lu", &from, &to, perms, &inode) == 4 && from < end && to > start) {
                if (from > covered || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' || inode == 0) ok = 0;
                else if (to > covered) covered = to;
            }
            if (!newline) { line += strlen(line); break; }
            line = newline + 1;
        }
        used = strlen(line);
        if (used == sizeof buffer - 1) ok = 0; /* a line longer than the buffer: give up, keep all */
        memmove(buffer, line, used);
    }
    close(fd);
    return ok && covered >= end;
}

static void dropping_decide(void) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), base = (uintptr_t)blob;
    dropping.state = -1;
    if (page == 0 || (page & (page - 1))) return;
    dropping.lo = (base + page - 1) & ~(page - 1);
    dropping.hi = (base + blob_size) & ~(page - 1);
    uint32_t keep[2][2] = {{0, u32(blob + 52)}, {u32(blob + DICTIONARY_FIELD), u32(blob + DICTIONARY_FIELD + 4)}};
    for (int k = 0; k < 2; k++) {
        dropping.keep_lo[k] = (base + keep[k][0]) & ~(page - 1);
        dropping.keep_hi[k] = keep[k][1] ? (base + keep[k][0] + keep[k][1] + page - 1) & ~(page - 1) : dropping.keep_lo[k];
    }
    if (dropping.hi > dropping.lo && file_backed(dropping.lo, dropping.hi)) dropping.state = 1;
}

/* madvise(MADV_DONTNEED) on [start, end) less the kept ranges from k on (errors ignored: nothing
 * is lost, the pages just stay). */
static void drop_range(uintptr_t start, uintptr_t end, int k) {
    for (; k < 2 && start < end; k++) {
        if (dropping.keep_hi[k] <= start || dropping.keep_lo[k] >= end) continue;
        if (dropping.keep_lo[k] > start) drop_range(start, dropping.keep_lo[k], k + 1);
        start = dropping.keep_hi[k];
    }
    if (start < end) madvise((void *)start, end - start, MADV_DONTNEED);
}

/* A payload at `data` of `length` bytes has just been read: its windows join the pending run,
 * or the pending run is dropped and they start the next. */
static void payload_read(const unsigned char *data, uint32_t length) {
    if (!dropping.state) dropping_decide();
    if (dropping.state < 0 || length == 0) return;
    uintptr_t start = (uintptr_t)data & ~(WINDOW - 1), end = ((uintptr_t)data + length + WINDOW - 1) & ~(WINDOW - 1);
    if (start < dropping.lo) start = dropping.lo;
    if (end > dropping.hi) end = dropping.hi;
    if (dropping.pend_hi && start <= dropping.pend_hi && end >= dropping.pend_lo) {
        if (start < dropping.pend_lo) dropping.pend_lo = start;
        if (end > dropping.pend_hi) dropping.pend_hi = end;
        return;
    }
    if (dropping.pend_hi) drop_range(dropping.pend_lo, dropping.pend_hi, 0);
    dropping.pend_lo = start;
    dropping.pend_hi = end;
}

/* Entries copied whole into memory files (shared objects, files opened by path) are read a window
 * at a time when larger than one: each window CRC-checked (the first time), written and given
 * back before the next is read. Checked whole, copied, then given back, all of their pages were
 * resident at once: numpy's 35 MB of extension modules and OpenBLAS made its peak RSS 54.8 MiB
 * against stock python's 32.2; read by windows, 36.2 MiB at the same start-up time. Reading them
 * with pread() instead, never mapped, gave the same peak and cost 3.5-5 ms more (one more copy;
 * docs/benchmarks.md). */
#define COPY_WINDOW (1u << 20)

/* Writes payload `payload` of entry i of table t to fd at its position, the entry CRC-checked
 * first if it is not yet (which reads the other payload too). 0, or -1 with an exception set. */
static int copy_entry(int fd, int t, Py_ssize_t i, int payload) {
    if (!dropping.state) dropping_decide();
    const unsigned char *r = record(t, i);
    int check = !tables[t].verified[i];
    uint32_t crc = 0;
    for (int k = 0; k < 2; k++) {
        const unsigned char *data = blob + u32(r + 8 + 8 * k);
        uint32_t length = u32(r + 12 + 8 * k);
        if (k != payload) {
            if (check) crc = lzma_crc32(data, length, crc);
            continue;
        }
        for (uint32_t done = 0; done < length;) {
            uint32_t window = length - done < COPY_WINDOW ? length - done : COPY_WINDOW;
            if (check) crc = lzma_crc32(data + done, window, crc);
            for (uint32_t written = 0; written < window;) {
                ssize_t n = write(fd, data + done + written, window - written);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    if (n == 0) errno = EIO;
                    PyErr_SetFromErrnoWithFilename(PyExc_OSError, "memfd write");
                    return -1;
                }
                written += (uint32_t)n;
            }
            if (dropping.state > 0 && length > COPY_WINDOW) {
                uintptr_t start = (uintptr_t)(data + done) & ~(WINDOW - 1);
                uintptr_t end = ((uintptr_t)(data + done + window) + WINDOW - 1) & ~(WINDOW - 1);
                if (start < dropping.lo) start = dropping.lo;
                if (end > dropping.hi) end = dropping.hi;
                if (start < end) drop_range(start, end, 0);
            }
            done += window;
        }
        if (length <= COPY_WINDOW) payload_read(data, length); /* with its neighbours' reads */
    }
    if (check) {
        if (crc != u32(r + 28)) return crc_mismatch(r);
        tables[t].verified[i] = 1;
    }
    return 0;
}

/* code(index) -> code object of a module entry, or None if it has no bytecode (source only) */
static PyObject *blob_code(PyObject *self, PyObject *arg) {
    Py_ssize_t i = PyLong_AsSsize_t(arg);
    if ((i == -1 && PyErr_Occurred()) || index_arg(RPS_TABLE_MODULES, i) < 0) return NULL;
    if (verify(RPS_TABLE_MODULES, i) < 0) return NULL;
    const unsigned char *r = record(RPS_TABLE_MODULES, i);
    const unsigned char *data = blob + u32(r + 8);
    uint32_t length = u32(r + 12);
    if (length == 0) Py_RETURN_NONE;
    if (!(u32(r + 24) & FLAG_COMPRESSED)) {
        PyObject *code = PyMarshal_ReadObjectFromString((const char *)data, length);
        payload_read(data, length);
        return code;
    }
    /* COMPRESSED: the marshalled code's length (u32), then its zstd frame. */
    uint32_t expected = u32(data);
    unsigned char *code = PyMem_RawMalloc(expected ? expected : 1);
    if (!code) return PyErr_NoMemory();
    const char *problem = decompress(code, expected, data + 4, length - 4);
    if (problem) {
        PyMem_RawFree(code);
        return PyErr_Format(PyExc_ImportError,
                            "corrupt packed resources: entry '%.*s' does not decompress to its %lu bytes (%s); "
                            "the executable is damaged, rebuild or re-copy it",
                            (int)u32(r + 4), (const char *)blob + u32(r), (unsigned long)expected, problem);
    }
    payload_read(data, length);
    PyObject *result = PyMarshal_ReadObjectFromString((const char *)code, (Py_ssize_t)expected);
    PyMem_RawFree(code);
    return result;
}

/* data(table, index) -> (data memoryview, source memoryview or None) */
static PyObject *blob_data(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "data(table, index)");
    int t = (int)PyLong_AsLong(args[0]);
    if ((t == -1 && PyErr_Occurred()) || table_arg(t) < 0) return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if ((i == -1 && PyErr_Occurred()) || index_arg(t, i) < 0) return NULL;
    if (verify(t, i) < 0) return NULL;
    const unsigned char *r = record(t, i);
    PyObject *data = PyMemoryView_FromMemory((char *)blob + u32(r + 8), u32(r + 12), PyBUF_READ);
    if (!data) return NULL;
    /* A library's second payload (its cycle patches) is there when it is not empty. */
    int has_source = (u32(r + 24) & (FLAG_SOURCE | FLAG_EXTENSION)) || (t == RPS_TABLE_LIBRARIES && u32(r + 20));
    if (!has_source) return Py_BuildValue("(NO)", data, Py_None);
    PyObject *source = PyMemoryView_FromMemory((char *)blob + u32(r + 16), u32(r + 20), PyBUF_READ);
    if (!source) {
        Py_DECREF(data);
        return NULL;
    }
    return Py_BuildValue("(NN)", data, source);
}

/* names(table, prefix) -> [(name, index, flags)] for every name starting with prefix */
static PyObject *blob_names(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "names(table, prefix)");
    int t = (int)PyLong_AsLong(args[0]);
    if ((t == -1 && PyErr_Occurred()) || table_arg(t) < 0) return NULL;
    Py_ssize_t len;
    const char *prefix = PyUnicode_AsUTF8AndSize(args[1], &len);
    if (!prefix) return NULL;
    PyObject *result = PyList_New(0);
    if (!result) return NULL;
    for (uint32_t i = lower_bound(t, prefix, len); i < tables[t].count; i++) {
        const unsigned char *r = record(t, i);
        if (u32(r + 4) < (uint32_t)len || memcmp(blob + u32(r), prefix, len) != 0) break;
        PyObject *item = Py_BuildValue("(s#II)", (const char *)blob + u32(r), (Py_ssize_t)u32(r + 4), i, u32(r + 24));
        if (!item || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(result);
            return NULL;
        }
        Py_DECREF(item);
    }
    return result;
}

/* --- Shared objects from memory (extension modules and the libraries they need) -----------
 *
 * An entry's bytes go to an anonymous memory file (memfd_create), which the dynamic loader opens
 * as /proc/self/fd/N: nothing is written to disk and nothing but the executable is read. The
 * binary is built against glibc 2.17 headers, whose libc has no memfd_create() wrapper (2.27
 * added it), so the system call is made directly. */

#ifndef SYS_memfd_create
#if defined(__x86_64__)
#define SYS_memfd_create 319
#elif defined(__aarch64__)
#define SYS_memfd_create 279
#endif
#endif
#define RPS_MFD_CLOEXEC 1u

/* A memory file holding entry i of table t; its path (/proc/self/fd/N) in `path`. Returns the fd,
 * or -1 with an exception set (OSError with the errno when there is no memfd_create). The path is
 * one the dynamic loader has not loaded yet: glibc matches dlopen() names against loaded objects
 * before opening anything, so a number reused after the program closed an earlier memfd must not
 * alias that object. */
static int memory_file(int t, Py_ssize_t i, char *path, size_t size) {
#ifdef SYS_memfd_create
    const unsigned char *r = record(t, i);
    char name[64];
    snprintf(name, sizeof name, "rps:%.*s", (int)(u32(r + 4) < 48 ? u32(r + 4) : 48), (const char *)blob + u32(r));
    int fd = (int)syscall(SYS_memfd_create, name, RPS_MFD_CLOEXEC);
    if (fd < 0) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, "memfd_create");
        return -1;
    }
    if (copy_entry(fd, t, i, 0) < 0) {
        close(fd);
        return -1;
    }
    for (;;) {
        snprintf(path, size, "/proc/self/fd/%d", fd);
        void *loaded = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
        if (!loaded) return fd;
        dlclose(loaded);
        int other = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
        close(fd);
        if (other < 0) {
            PyErr_SetFromErrnoWithFilename(PyExc_OSError, "fcntl");
            return -1;
        }
        fd = other;
    }
#else
    errno = ENOSYS;
    PyErr_SetFromErrnoWithFilename(PyExc_OSError, "memfd_create");
    return -1;
#endif
}

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#define RPS_MFD_ALLOW_SEALING 2u

/* sealed_file(table, index, payload) -> fd of a memory file holding the entry's data (payload 0)
 * or source (payload 1), CRC-checked, at offset 0, read-only (mode 0444) and sealed against
 * writes, growing and shrinking: what open() of a packed file by path returns (_rps_view). An
 * OSError names memfd_create when the system has none; a damaged payload raises ImportError. */
static PyObject *blob_sealed_file(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "sealed_file(table, index, payload)");
    int t = (int)PyLong_AsLong(args[0]);
    if ((t == -1 && PyErr_Occurred()) || table_arg(t) < 0) return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if ((i == -1 && PyErr_Occurred()) || index_arg(t, i) < 0) return NULL;
    long payload = PyLong_AsLong(args[2]);
    if (payload == -1 && PyErr_Occurred()) return NULL;
#ifdef SYS_memfd_create
    const unsigned char *r = record(t, i);
    char name[64];
    snprintf(name, sizeof name, "rps:%.*s", (int)(u32(r + 4) < 48 ? u32(r + 4) : 48), (const char *)blob + u32(r));
    int fd = (int)syscall(SYS_memfd_create, name, RPS_MFD_CLOEXEC | RPS_MFD_ALLOW_SEALING);
    if (fd < 0) return PyErr_SetFromErrnoWithFilename(PyExc_OSError, "memfd_create");
    if (copy_entry(fd, t, i, payload ? 1 : 0) < 0) {
        close(fd);
        return NULL;
    }
    if (fchmod(fd, 0444) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, "memfd seal");
    }
    return PyLong_FromLong(fd);
#else
    errno = ENOSYS;
    return PyErr_SetFromErrnoWithFilename(PyExc_OSError, "memfd_create");
#endif
}

/* lengths(table, index) -> (data length, source length): sizes for stat(), without reading (or
 * checking) the payload. */
static PyObject *blob_lengths(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "lengths(table, index)");
    int t = (int)PyLong_AsLong(args[0]);
    if ((t == -1 && PyErr_Occurred()) || table_arg(t) < 0) return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if ((i == -1 && PyErr_Occurred()) || index_arg(t, i) < 0) return NULL;
    const unsigned char *r = record(t, i);
    return Py_BuildValue("(II)", u32(r + 12), u32(r + 20));
}

/* memory_file(table, index) -> (fd, "/proc/self/fd/N") of a memory file holding the entry's data
 * (CRC-checked); the caller closes fd once the file is loaded. */
static PyObject *blob_memory_file(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "memory_file(table, index)");
    int t = (int)PyLong_AsLong(args[0]);
    if ((t == -1 && PyErr_Occurred()) || table_arg(t) < 0) return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if ((i == -1 && PyErr_Occurred()) || index_arg(t, i) < 0) return NULL;
    char path[64];
    int fd = memory_file(t, i, path, sizeof path);
    if (fd < 0) return NULL;
    return Py_BuildValue("(is)", fd, path);
}

/* crc32(table, index) -> the entry's recorded CRC-32 (names its file in the extension cache). */
static PyObject *blob_crc32(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "crc32(table, index)");
    int t = (int)PyLong_AsLong(args[0]);
    if ((t == -1 && PyErr_Occurred()) || table_arg(t) < 0) return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if ((i == -1 && PyErr_Occurred()) || index_arg(t, i) < 0) return NULL;
    return PyLong_FromUnsignedLong(u32(record(t, i) + 28));
}

/* load_library(path) -> None: dlopen()s a shared library for good (RTLD_NOW | RTLD_LOCAL), so that
 * the extension modules needing it find it by its soname: glibc matches DT_NEEDED entries
 * against the sonames of loaded objects before searching any path. ImportError with dlerror(). */
static PyObject *blob_load_library(PyObject *self, PyObject *arg) {
    const char *path = PyUnicode_AsUTF8(arg);
    if (!path) return NULL;
    if (!dlopen(path, RTLD_NOW | RTLD_LOCAL)) { /* never closed: extension modules keep using it */
        const char *why = dlerror();
        return PyErr_Format(PyExc_ImportError, "%s", why ? why : "dlopen failed");
    }
    Py_RETURN_NONE;
}

/* The release stamp (tools/stamp, linked by every binary: empty without stamping). Weak, so a
 * link without the object still works and reads as no stamp. */
extern const unsigned char rps_stamp[] __attribute__((weak, visibility("hidden")));
extern const uint64_t rps_stamp_size __attribute__((weak, visibility("hidden")));

/* stamp() -> {key: value}: the workspace status keys the build stamped in ("KEY value" lines). */
static PyObject *blob_stamp(PyObject *self, PyObject *unused) {
    PyObject *result = PyDict_New();
    if (!result || !&rps_stamp_size || !rps_stamp) return result;
    const char *p = (const char *)rps_stamp, *end = p + rps_stamp_size;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *space = memchr(p, ' ', (size_t)(eol - p));
        const char *key_end = space ? space : eol, *value = space ? space + 1 : eol;
        PyObject *key = PyUnicode_DecodeUTF8(p, key_end - p, "strict");
        PyObject *val = key ? PyUnicode_DecodeUTF8(value, eol - value, "strict") : NULL;
        if (!val || PyDict_SetItem(result, key, val) < 0) {
            Py_XDECREF(key);
            Py_XDECREF(val);
            Py_DECREF(result);
            return NULL;
        }
        Py_DECREF(key);
        Py_DECREF(val);
        p = eol + 1;
    }
    return result;
}

/* check_index(buffer) -> None | str: the start-up checks on other bytes (the differential fuzz
 * test drives the C checks with them; the executable's own blob is not touched). */
static PyObject *blob_check_index(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    table_t scratch[TABLE_COUNT];
    char error[ERROR_SIZE];
    const char *problem = check_index(view.buf, (uint64_t)view.len, scratch, error);
    PyBuffer_Release(&view);
    if (!problem) Py_RETURN_NONE;
    return PyUnicode_FromString(problem);
}

static PyMethodDef methods[] = {
    {"check_index", blob_check_index, METH_O, "check_index(buffer) -> None | the failed check's message"},
    {"stamp", blob_stamp, METH_NOARGS, "stamp() -> {key: value} of the build's workspace status (docs/releases.md)"},
    {"find", (PyCFunction)(void (*)(void))blob_find, METH_FASTCALL, "find(table, name) -> (index, flags) | None"},
    {"code", blob_code, METH_O, "code(index) -> the module's code object"},
    {"data", (PyCFunction)(void (*)(void))blob_data, METH_FASTCALL, "data(table, index) -> (memoryview, memoryview | None)"},
    {"names", (PyCFunction)(void (*)(void))blob_names, METH_FASTCALL, "names(table, prefix) -> [(name, index, flags)]"},
    {"memory_file", (PyCFunction)(void (*)(void))blob_memory_file, METH_FASTCALL, "memory_file(table, index) -> (fd, path)"},
    {"load_library", blob_load_library, METH_O, "load_library(path) -> None"},
    {"crc32", (PyCFunction)(void (*)(void))blob_crc32, METH_FASTCALL, "crc32(table, index) -> int"},
    {"sealed_file", (PyCFunction)(void (*)(void))blob_sealed_file, METH_FASTCALL, "sealed_file(table, index, payload) -> fd"},
    {"lengths", (PyCFunction)(void (*)(void))blob_lengths, METH_FASTCALL, "lengths(table, index) -> (int, int)"},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *module) {
    if (PyModule_AddIntConstant(module, "MODULES", RPS_TABLE_MODULES) < 0 ||
        PyModule_AddIntConstant(module, "RESOURCES", RPS_TABLE_RESOURCES) < 0 ||
        PyModule_AddIntConstant(module, "METADATA", RPS_TABLE_METADATA) < 0 ||
        PyModule_AddIntConstant(module, "LIBRARIES", RPS_TABLE_LIBRARIES) < 0 ||
        PyModule_AddIntConstant(module, "EXTENSION", FLAG_EXTENSION) < 0 ||
        PyModule_AddIntConstant(module, "PACKAGE", FLAG_PACKAGE) < 0 ||
        PyModule_AddIntConstant(module, "NAMESPACE", FLAG_NAMESPACE) < 0 ||
        PyModule_AddIntConstant(module, "SOURCE", FLAG_SOURCE) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_rps_blob", "The executable's packed resources.", 0, methods, slots,
};

PyObject *rps_blob_init(void) { return PyModuleDef_Init(&module_def); }

PyObject *rps_blob_module_code(const char *name) {
    int64_t i = find(RPS_TABLE_MODULES, name, (Py_ssize_t)strlen(name));
    if (i < 0) return PyErr_Format(PyExc_ImportError, "module %s is not in the packed resources", name);
    PyObject *index = PyLong_FromLongLong(i);
    if (!index) return NULL;
    PyObject *code = blob_code(NULL, index);
    Py_DECREF(index);
    if (code == Py_None) {
        Py_DECREF(code);
        return PyErr_Format(PyExc_ImportError, "module %s has no bytecode in the packed resources", name);
    }
    return code;
}
