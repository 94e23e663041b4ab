/* The packed resources linked into the executable; see rps_blob.c. */
#ifndef RPS_BLOB_H
#define RPS_BLOB_H

#include <Python.h>
#include <stdint.h>

enum { RPS_TABLE_MODULES = 0, RPS_TABLE_RESOURCES = 1, RPS_TABLE_METADATA = 2, RPS_TABLE_LIBRARIES = 3 };

/* Checks the blob's header and index (docs/resources-format.md, "What a reader must check").
 * Returns NULL when it is sound, else a message naming the failed check. Call before Python
 * starts; allocates with PyMem_RawCalloc. */
const char *rps_blob_check(const unsigned char *data, uint64_t size);

/* The header's runtime_flags (docs/resources-format.md): a binary's settings, read before
 * Python starts. 0 before rps_blob_check succeeded. */
#define RPS_RUNTIME_ISOLATED 1u
#define RPS_RUNTIME_PYTHON_COMMAND_LINE 2u
#define RPS_RUNTIME_FULL_FINALIZATION 4u
#define RPS_KNOWN_RUNTIME_FLAGS (RPS_RUNTIME_ISOLATED | RPS_RUNTIME_PYTHON_COMMAND_LINE | RPS_RUNTIME_FULL_FINALIZATION)
uint32_t rps_blob_runtime_flags(void);

/* PyInit function of the built-in module _rps_blob. */
PyObject *rps_blob_init(void);

/* The code object of a module entry (CRC-checked), or NULL with an exception set. */
PyObject *rps_blob_module_code(const char *name);

#endif
