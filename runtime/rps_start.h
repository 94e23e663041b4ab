/* Starting and ending the interpreter of a standalone binary or library; see rps_start.c. */
#ifndef RPS_START_H
#define RPS_START_H

#include <Python.h>

typedef struct {
    int argc;                    /* sys.argv, as bytes (decoded like the command line) */
    char **argv;
    const char *executable;      /* sys.executable: the running program's path */
    int isolated;                /* ignore PYTHON* environment variables */
    int install_signal_handlers; /* SIGINT -> KeyboardInterrupt, SIGPIPE ignored, ... */
    int python_command_line;     /* argv is python's command line: CPython parses its options */
} rps_start_options;

/* The running program's path (/proc/self/exe, else argv0 resolved), written to `buffer`. */
const char *rps_executable_path(const char *argv0, char *buffer, size_t size);

/* Registers the runtime's built-in modules, initializes the interpreter in two phases with the
 * in-memory importer and the view of the packed files installed between them. Returns NULL, or
 * what failed: then `*status` is the failed PyStatus if PyStatus_Exception(*status), else a
 * Python exception is set. The blob must have been checked (rps_blob_check). */
const char *rps_start(const rps_start_options *options, PyStatus *status);

/* Ends the interpreter (the thread holds the GIL); see rps_start.c. Returns `status`, or 120
 * when flushing the standard streams failed (as Py_FinalizeEx reports it). */
int rps_finalize(int status);

#endif
