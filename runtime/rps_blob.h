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

/* PyInit function of the built-in module _rps_blob. */
PyObject *rps_blob_init(void);

/* The code object of a module entry (CRC-checked), or NULL with an exception set. */
PyObject *rps_blob_module_code(const char *name);

#endif
