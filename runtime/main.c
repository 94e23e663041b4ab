/* Entry point of a standalone binary: an isolated interpreter whose imports come from memory.
 *
 * The interpreter is started by rps_start.c (shared with libraries, embed.c). The program itself
 * is run by `_rps_importer.run()`; errors and exit codes are handled the way `python -m module`
 * handles them. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rps_blob.h"
#include "rps_start.h"

/* Defined by the object file that tools/emit writes. */
extern const unsigned char rps_resources[];
extern const uint64_t rps_resources_size;

#define EXIT_SOFTWARE 70 /* sysexits.h EX_SOFTWARE: the binary itself is broken */

static int fatal(const char *what, const char *detail) {
    fprintf(stderr, "%s: %s\n", what, detail);
    return EXIT_SOFTWARE;
}

static int status_failed(PyStatus status) {
    if (PyStatus_IsExit(status)) return status.exitcode;
    Py_ExitStatusException(status); /* prints and exits */
    return EXIT_SOFTWARE;
}

/* The exit status of the SystemExit being raised, printing its message like CPython does
 * (`sys.exit("message")` prints the message and exits with 1). Clears the exception. */
static int system_exit_status(void) {
    fflush(stdout);
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    if (!value) return 0;
    PyObject *code = PyObject_GetAttrString(value, "code");
    if (code) Py_SETREF(value, code);
    PyErr_Clear();
    int status = 0;
    if (value == Py_None) {
        status = 0;
    } else if (PyLong_Check(value)) {
        status = (int)PyLong_AsLong(value);
        PyErr_Clear();
    } else {
        PyObject *err = PySys_GetObject("stderr"); /* borrowed */
        if (err && err != Py_None && PyFile_WriteObject(value, err, Py_PRINT_RAW) == 0) {
            PyFile_WriteString("\n", err);
        } else {
            PyErr_Clear();
            PyObject_Print(value, stderr, Py_PRINT_RAW);
            fputc('\n', stderr);
            fflush(stderr);
        }
        PyErr_Clear();
        status = 1;
    }
    Py_DECREF(value);
    return status;
}

/* The exit status after the program ended with an exception, printing it like `python -m`. */
static int exit_after_exception(void) {
    if (PyErr_ExceptionMatches(PyExc_SystemExit)) return rps_finalize(system_exit_status());
    int interrupted = PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
    PyErr_Print();
    int status = rps_finalize(1);
    if (interrupted) {
        /* Like CPython: die of SIGINT so the parent shell sees the interrupt. */
        signal(SIGINT, SIG_DFL);
        kill(getpid(), SIGINT);
        return 128 + SIGINT;
    }
    return status;
}

int main(int argc, char **argv) {
    const char *problem = rps_blob_check(rps_resources, rps_resources_size);
    if (problem) return fatal(argc > 0 ? argv[0] : "standalone binary", problem);

    char exe_buffer[PATH_MAX];
    const char *exe = rps_executable_path(argc > 0 ? argv[0] : NULL, exe_buffer, sizeof exe_buffer);
    const rps_start_options options = {
        .argc = argc,
        .argv = argv,
        .executable = exe,
        /* py_standalone_binary(isolated = ..., python_command_line = ...), packed by tools/pack. */
        .isolated = (rps_blob_runtime_flags() & RPS_RUNTIME_ISOLATED) != 0,
        .install_signal_handlers = 1,
        .python_command_line = (rps_blob_runtime_flags() & RPS_RUNTIME_PYTHON_COMMAND_LINE) != 0,
    };
    PyStatus status;
    const char *failed = rps_start(&options, &status);
    if (failed) {
        if (PyStatus_Exception(status)) return status_failed(status);
        PyErr_Print();
        return fatal(exe, failed);
    }

    PyObject *importer = PyImport_ImportModule("_rps_importer");
    PyObject *result = importer ? PyObject_CallMethod(importer, "run", NULL) : NULL;
    Py_XDECREF(importer);
    if (!result) return exit_after_exception();
    if (PyCode_Check(result)) { /* the program: run with no frame of the runtime below it */
        PyObject *main_module = PyImport_AddModule("__main__"); /* borrowed */
        PyObject *globals = main_module ? PyModule_GetDict(main_module) : NULL;
        PyObject *ran = globals ? PyEval_EvalCode(result, globals, globals) : NULL;
        Py_DECREF(result);
        if (!ran) return exit_after_exception();
        Py_DECREF(ran);
        return rps_finalize(0);
    }
    if (result != Py_None) { /* the program's exception, without the runtime's frames */
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(result);
#else
        PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(result)), result, PyException_GetTraceback(result));
#endif
        return exit_after_exception();
    }
    Py_DECREF(result);
    return rps_finalize(0);
}
