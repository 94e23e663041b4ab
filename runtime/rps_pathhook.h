/* Paths under the executable served from the packed resources; see rps_pathhook.c. */
#ifndef RPS_PATHHOOK_H
#define RPS_PATHHOOK_H

#include <Python.h>

/* Wraps the file functions of `posix` and `_io` (call after the core is initialized, before the
 * main phase). Returns 0, or -1 with an exception set. */
int rps_pathhook_install(const char *executable);

/* PyInit function of the built-in module _rps_pathhook. */
PyObject *rps_pathhook_init(void);

#endif
