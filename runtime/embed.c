/* The embedding API of py_standalone_library (include/rules_py_standalone/embed.h,
 * docs/embedding.md): the interpreter of a standalone binary, started on the first call.
 *
 * Nothing here runs before the host calls it: no constructor, no static initializer that
 * touches Python or the packed resources, so a program that links the library and never calls
 * it starts and runs as without it. Between calls the GIL is released (threads that Python code
 * started keep running); each call takes it with PyGILState_Ensure. The conversions and the
 * look-ups are in the Python half, `_rps_embed` (runtime/rps_embed.py). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rps_blob.h"
#include "rps_start.h"
#include "rules_py_standalone/embed.h"

/* Defined by the object file that tools/emit writes. */
extern const unsigned char rps_resources[];
extern const uint64_t rps_resources_size;

typedef enum { UNCONFIGURED, CONFIGURED, RUNNING, FAILED, FINALIZED } embed_state;

static embed_state state = UNCONFIGURED;
static rps_embed_config settings;  /* copies of the host's strings, owned here */
static PyThreadState *main_thread; /* saved while no call runs */
static pthread_t starting_thread;
static char *last_error;

static rps_embed_status fail(rps_embed_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    char *text = NULL;
    if (vasprintf(&text, format, args) < 0) text = NULL;
    va_end(args);
    free(last_error);
    last_error = text;
    return status;
}

static void clear_error(void) {
    free(last_error);
    last_error = NULL;
}

static char *copy_string(const char *s) { return s ? strdup(s) : NULL; }

static void free_strings(const char *const *list, size_t count) {
    for (size_t i = 0; i < count; i++) free((char *)list[i]);
    free((void *)list);
}

static const char **copy_strings(const char *const *list, size_t count) {
    const char **copy = calloc(count + 1, sizeof *copy);
    for (size_t i = 0; copy && i < count; i++) copy[i] = copy_string(list[i] ? list[i] : "");
    return copy;
}

rps_embed_status rps_embed_configure(const rps_embed_config *config) {
    if (state == RUNNING || state == FAILED)
        return fail(RPS_EMBED_ALREADY_INITIALIZED,
                    "rps_embed_configure: Python has already started; configure before the first call");
    if (state == FINALIZED)
        return fail(RPS_EMBED_FINALIZED, "rps_embed_configure: Python was finalized and cannot start again");
    if (!config) return fail(RPS_EMBED_BAD_ARGUMENT, "rps_embed_configure: config is NULL");
    if ((config->argc < 0) || (config->argc > 0 && !config->argv) ||
        (config->extra_sys_path_count > 0 && !config->extra_sys_path))
        return fail(RPS_EMBED_BAD_ARGUMENT,
                    "rps_embed_configure: argv or extra_sys_path is NULL while its count is not 0");
    free_strings(settings.argv, (size_t)settings.argc);
    free_strings(settings.extra_sys_path, settings.extra_sys_path_count);
    settings = *config;
    settings.argv = copy_strings(config->argv, (size_t)config->argc);
    settings.extra_sys_path = copy_strings(config->extra_sys_path, config->extra_sys_path_count);
    if (!settings.argv || !settings.extra_sys_path) return fail(RPS_EMBED_BAD_ARGUMENT, "rps_embed_configure: out of memory");
    state = CONFIGURED;
    clear_error();
    return RPS_EMBED_OK;
}

/* The pending exception, normalized, with its traceback attached (what 3.12's
 * PyErr_GetRaisedException gives; this works on every version built here). */
static PyObject *take_error(void) {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value && traceback) PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
}

/* The pending exception's text (its traceback), cleared; the GIL is held. */
static rps_embed_status python_error(rps_embed_status status, const char *what) {
    PyObject *error = take_error();
    PyObject *embed = PyImport_ImportModule("_rps_embed");
    PyObject *text = embed && error ? PyObject_CallMethod(embed, "format_error", "O", error) : NULL;
    const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
    fail(status, "%s: %s", what, utf8 ? utf8 : "an exception that cannot be formatted\n");
    PyErr_Clear();
    Py_XDECREF(text);
    Py_XDECREF(embed);
    Py_XDECREF(error);
    return status;
}

static rps_embed_status start(void) {
    const char *problem = rps_blob_check(rps_resources, rps_resources_size);
    if (problem) {
        state = FAILED;
        return fail(RPS_EMBED_INIT_FAILED, "rps_embed: %s", problem);
    }
    if (Py_IsInitialized()) {
        state = FAILED;
        return fail(RPS_EMBED_INIT_FAILED, "rps_embed: another Python interpreter is already running in this process");
    }
    char exe_buffer[PATH_MAX];
    char *empty_argv[] = {"", NULL};
    const rps_start_options options = {
        .argc = settings.argc > 0 ? settings.argc : 1,
        .argv = settings.argc > 0 ? (char **)settings.argv : empty_argv,
        .executable = rps_executable_path(NULL, exe_buffer, sizeof exe_buffer),
        .isolated = settings.isolated != 0,
        .install_signal_handlers = settings.install_signal_handlers != 0,
    };
    PyStatus status;
    const char *failed = rps_start(&options, &status);
    state = FAILED; /* until it is up: a failed start cannot be retried */
    if (failed && PyStatus_Exception(status))
        return fail(RPS_EMBED_INIT_FAILED, "rps_embed: %s: %s%s%s", failed, status.func ? status.func : "",
                    status.func ? ": " : "", status.err_msg ? status.err_msg : "");
    if (failed) return python_error(RPS_EMBED_INIT_FAILED, failed);
    PyObject *path = PyList_New(0);
    for (size_t i = 0; path && i < settings.extra_sys_path_count; i++) {
        PyObject *entry = PyUnicode_DecodeFSDefault(settings.extra_sys_path[i]);
        if (!entry || PyList_Append(path, entry) < 0) Py_CLEAR(path);
        Py_XDECREF(entry);
    }
    PyObject *embed = path ? PyImport_ImportModule("_rps_embed") : NULL;
    PyObject *result = embed ? PyObject_CallMethod(embed, "setup", "O", path) : NULL;
    Py_XDECREF(embed);
    Py_XDECREF(path);
    if (!result) return python_error(RPS_EMBED_INIT_FAILED, "rps_embed: cannot set up the library's importer");
    Py_DECREF(result);
    starting_thread = pthread_self();
    state = RUNNING;
    main_thread = PyEval_SaveThread(); /* other threads may run Python between calls */
    return RPS_EMBED_OK;
}

/* Where every call starts: Python running (started now if need be), or why not. */
static rps_embed_status ready(const char *what) {
    clear_error();
    switch (state) {
    case UNCONFIGURED:
        return fail(RPS_EMBED_NOT_CONFIGURED, "%s: call rps_embed_configure() first", what);
    case CONFIGURED:
        return start();
    case RUNNING:
        return RPS_EMBED_OK;
    case FAILED:
        return fail(RPS_EMBED_INIT_FAILED, "%s: Python failed to start earlier; it cannot be retried", what);
    case FINALIZED:
        break;
    }
    return fail(RPS_EMBED_FINALIZED, "%s: Python was finalized (rps_embed_finalize) and cannot be used again", what);
}

rps_embed_status rps_embed_initialize(void) {
    if (state == RUNNING || state == FAILED)
        return fail(RPS_EMBED_ALREADY_INITIALIZED, "rps_embed_initialize: Python has already been initialized");
    return ready("rps_embed_initialize");
}

/* Calls _rps_embed.<function>(*args) with the GIL held; NULL with an exception set on failure. */
static PyObject *call_embed(const char *function, const char *format, ...) {
    PyObject *embed = PyImport_ImportModule("_rps_embed");
    if (!embed) return NULL;
    PyObject *callable = PyObject_GetAttrString(embed, function);
    Py_DECREF(embed);
    if (!callable) return NULL;
    va_list va;
    va_start(va, format);
    PyObject *args = Py_VaBuildValue(format, va);
    va_end(va);
    PyObject *result = args ? PyObject_CallObject(callable, args) : NULL;
    Py_XDECREF(args);
    Py_DECREF(callable);
    return result;
}

/* The status for a failed call: NOT_FOUND when `module` itself (or `function` in it) is not
 * in the library, PYTHON_ERROR for any other exception. */
static rps_embed_status call_failed(const char *what, const char *module, const char *function) {
    rps_embed_status status = RPS_EMBED_PYTHON_ERROR;
    PyObject *error = take_error();
    PyObject *missing = error ? call_embed("is_missing", "(Osz)", error, module, function) : NULL;
    if (missing && PyObject_IsTrue(missing) == 1) status = RPS_EMBED_NOT_FOUND;
    Py_XDECREF(missing);
    PyErr_Clear();
    if (error) PyErr_SetObject((PyObject *)Py_TYPE(error), error);
    Py_XDECREF(error);
    return python_error(status, what);
}

rps_embed_status rps_embed_run_module(const char *module, int *exit_status) {
    rps_embed_status status = ready("rps_embed_run_module");
    if (status != RPS_EMBED_OK) return status;
    if (!module) return fail(RPS_EMBED_BAD_ARGUMENT, "rps_embed_run_module: module is NULL");
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *result = call_embed("run_module", "(s)", module);
    if (result) {
        long code = PyLong_AsLong(result);
        if (exit_status) *exit_status = (int)code;
        Py_DECREF(result);
    } else {
        status = call_failed("rps_embed_run_module", module, NULL);
    }
    PyGILState_Release(gil);
    return status;
}

rps_embed_status rps_embed_call(const char *module, const char *function, const rps_embed_value *args,
                                size_t nargs, rps_embed_result *result) {
    rps_embed_status status = ready("rps_embed_call");
    if (status != RPS_EMBED_OK) return status;
    if (!module || !function || !result || (nargs > 0 && !args))
        return fail(RPS_EMBED_BAD_ARGUMENT, "rps_embed_call: module, function, result or args is NULL");
    memset(result, 0, sizeof *result);
    for (size_t i = 0; i < nargs; i++)
        if ((args[i].kind != RPS_EMBED_STR && args[i].kind != RPS_EMBED_BYTES) || (args[i].size > 0 && !args[i].data))
            return fail(RPS_EMBED_BAD_ARGUMENT, "rps_embed_call: argument %zu is neither RPS_EMBED_STR nor "
                        "RPS_EMBED_BYTES, or its data is NULL", i);
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *tuple = PyTuple_New((Py_ssize_t)nargs);
    for (size_t i = 0; tuple && i < nargs; i++) {
        PyObject *value = args[i].kind == RPS_EMBED_STR
                              ? PyUnicode_DecodeUTF8(args[i].data, (Py_ssize_t)args[i].size, "strict")
                              : PyBytes_FromStringAndSize(args[i].data, (Py_ssize_t)args[i].size);
        if (!value) {
            Py_CLEAR(tuple);
            status = python_error(RPS_EMBED_BAD_ARGUMENT, "rps_embed_call: an argument is not valid UTF-8");
            break;
        }
        PyTuple_SET_ITEM(tuple, (Py_ssize_t)i, value);
    }
    PyObject *returned = tuple ? call_embed("call", "(ssO)", module, function, tuple) : NULL;
    Py_XDECREF(tuple);
    if (returned) {
        /* (kind, bytes or None) from _rps_embed._convert */
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(returned, 0));
        PyObject *data = PyTuple_GET_ITEM(returned, 1);
        result->kind = (rps_embed_kind)kind;
        if (data != Py_None) {
            result->size = (size_t)PyBytes_GET_SIZE(data);
            result->data = malloc(result->size + 1);
            if (result->data) {
                memcpy(result->data, PyBytes_AS_STRING(data), result->size);
                result->data[result->size] = '\0';
            } else {
                status = fail(RPS_EMBED_PYTHON_ERROR, "rps_embed_call: out of memory for the result");
                result->size = 0;
            }
        }
        Py_DECREF(returned);
    } else if (status == RPS_EMBED_OK) {
        status = call_failed("rps_embed_call", module, function);
    }
    PyGILState_Release(gil);
    return status;
}

rps_embed_status rps_embed_run_string(const char *code) {
    rps_embed_status status = ready("rps_embed_run_string");
    if (status != RPS_EMBED_OK) return status;
    if (!code) return fail(RPS_EMBED_BAD_ARGUMENT, "rps_embed_run_string: code is NULL");
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *result = call_embed("run_string", "(s)", code);
    if (result)
        Py_DECREF(result);
    else
        status = python_error(RPS_EMBED_PYTHON_ERROR, "rps_embed_run_string");
    PyGILState_Release(gil);
    return status;
}

rps_embed_status rps_embed_finalize(void) {
    clear_error();
    if (state == FINALIZED)
        return fail(RPS_EMBED_FINALIZED, "rps_embed_finalize: Python was already finalized");
    if (state == RUNNING) {
        if (!pthread_equal(starting_thread, pthread_self()))
            return fail(RPS_EMBED_WRONG_THREAD,
                        "rps_embed_finalize: call it from the thread that started Python (its first call)");
        PyEval_RestoreThread(main_thread);
        state = FINALIZED;
        if (rps_finalize(0) != 0)
            return fail(RPS_EMBED_PYTHON_ERROR, "rps_embed_finalize: flushing the standard streams failed");
        return RPS_EMBED_OK;
    }
    /* Never started (or failed to): nothing to end, but no later use either. */
    state = FINALIZED;
    return RPS_EMBED_OK;
}

void rps_embed_result_free(rps_embed_result *result) {
    if (!result) return;
    free(result->data);
    result->data = NULL;
    result->size = 0;
    result->kind = RPS_EMBED_NONE;
}

const char *rps_embed_last_error(void) { return last_error ? last_error : ""; }

const char *rps_embed_status_name(rps_embed_status status) {
    static const char *const names[] = {
        "RPS_EMBED_OK", "RPS_EMBED_NOT_CONFIGURED", "RPS_EMBED_ALREADY_INITIALIZED", "RPS_EMBED_FINALIZED",
        "RPS_EMBED_INIT_FAILED", "RPS_EMBED_PYTHON_ERROR", "RPS_EMBED_NOT_FOUND", "RPS_EMBED_BAD_ARGUMENT",
        "RPS_EMBED_WRONG_THREAD",
    };
    if ((unsigned)status < sizeof names / sizeof names[0]) return names[status];
    return "unknown rps_embed_status";
}
