/* Start-up and teardown shared by standalone binaries (main.c) and libraries (embed.c).
 *
 * Start-up order (why it is split): the interpreter's core is initialized first
 * (`_init_main = 0`), which imports nothing but built-in and frozen modules. Then the in-memory
 * importer (`_rps_importer`, itself loaded from the blob) is put on sys.meta_path, and only then
 * does the main phase run, so `encodings` and every later import already come from the blob. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rps_blob.h"
#include "rps_pathhook.h"
#include "rps_start.h"

/* Defined by the C file that tools/link_plan writes: extension modules outside libpython. */
int rps_register_extensions(void);

/* The running executable's path, so sys.executable re-runs this binary (multiprocessing). */
const char *rps_executable_path(const char *argv0, char *buffer, size_t size) {
    ssize_t n = readlink("/proc/self/exe", buffer, size - 1);
    if (n > 0) {
        buffer[n] = '\0';
        return buffer;
    }
    if (argv0 && strchr(argv0, '/') && realpath(argv0, buffer)) return buffer;
    return argv0 ? argv0 : "";
}

static PyStatus configure(PyConfig *config, const rps_start_options *options, const char *exe_dir) {
    PyStatus status;
    PyConfig_InitIsolatedConfig(config);
    if (!options->isolated) {
        /* PYTHON* variables apply (PYTHONPATH is added to sys.path by _rps_importer.prepare()). */
        config->isolated = 0;
        config->use_environment = 1;
    }
    /* argv belongs to the program, or (python_command_line) is python's: then CPython parses
     * the options so that -X, -W, -u, -b, -v, -O, -E, -I and -P take effect at start-up as in
     * python (an unknown option or --version ends the program there, as in python), and
     * rps_start tells _rps_importer what to run (-c, -m, a script). */
    config->parse_argv = options->python_command_line;
    if (!options->isolated) config->safe_path = 0; /* the isolated configuration's, as python -I */
    if (!options->isolated || options->python_command_line) {
        /* Fixed by the isolated configuration; as in python, the command line (-X dev,
         * faulthandler, tracemalloc, int_max_str_digits, perf) and PYTHON* variables decide. */
        config->dev_mode = config->use_hash_seed = config->faulthandler = config->tracemalloc = -1;
#if PY_VERSION_HEX >= 0x030C0000
        config->perf_profiling = config->int_max_str_digits = -1;
#endif
    }
    config->site_import = 0;
    config->user_site_directory = 0;
    config->write_bytecode = 0;
    config->pathconfig_warnings = 0;
    config->install_signal_handlers = options->install_signal_handlers;
    config->_init_main = 0;
    /* Every path is given, so the interpreter does not search the disk for its stdlib. */
    config->module_search_paths_set = 1;
    const char *exe = options->executable;
    status = PyConfig_SetBytesArgv(config, options->argc, options->argv);
    if (PyStatus_Exception(status)) return status;
    /* `home` set: getpath neither reads a pyvenv.cfg or <binary>._pth next to the binary
     * (either would change sys.path) nor looks for a build directory. */
    const struct { wchar_t **field; const char *value; } paths[] = {
        {&config->home, exe_dir},
        {&config->program_name, options->argc > 0 ? options->argv[0] : exe},
        {&config->executable, exe},
        {&config->base_executable, exe},
        {&config->prefix, exe_dir},
        {&config->base_prefix, exe_dir},
        {&config->exec_prefix, exe_dir},
        {&config->base_exec_prefix, exe_dir},
        {&config->stdlib_dir, exe},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        status = PyConfig_SetBytesString(config, paths[i].field, paths[i].value);
        if (PyStatus_Exception(status)) return status;
    }
    return PyWideStringList_Append(&config->module_search_paths, config->executable);
}

/* What python would run: ("c", command), ("m", module), ("file", path) or None (stdin, or
 * nothing), for _rps_importer.run(). Read from a configuration of its own: the interpreter is
 * given its configuration unparsed, because CPython 3.13 re-reading a parsed one (as the main
 * phase does) re-derives -X dev, -X warn_default_encoding, -E and -I from the command line it
 * has already consumed, and loses them. */
static PyObject *python_command(const rps_start_options *options, const char *exe_dir) {
    PyConfig config;
    PyStatus status = configure(&config, options, exe_dir);
    if (!PyStatus_Exception(status)) status = PyConfig_Read(&config);
    PyObject *command = NULL;
    if (PyStatus_Exception(status)) {
        PyErr_SetString(PyExc_RuntimeError, "cannot read the Python command line");
    } else {
        const struct { const char *kind; const wchar_t *value; } choices[] = {
            {"c", config.run_command}, {"m", config.run_module}, {"file", config.run_filename},
        };
        command = Py_NewRef(Py_None);
        for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++) {
            if (choices[i].value) {
                Py_SETREF(command, Py_BuildValue("(sN)", choices[i].kind, PyUnicode_FromWideChar(choices[i].value, -1)));
                break;
            }
        }
    }
    PyConfig_Clear(&config);
    return command;
}

/* Loads _rps_importer from the blob and lets it install its finders. */
static int install_importer(const char *exe) {
    PyObject *code = rps_blob_module_code("_rps_importer");
    if (!code) return -1;
    PyObject *module = PyImport_AddModule("_rps_importer"); /* borrowed */
    if (!module) {
        Py_DECREF(code);
        return -1;
    }
    PyObject *globals = PyModule_GetDict(module);
    if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0) {
        Py_DECREF(code);
        return -1;
    }
    PyObject *result = PyEval_EvalCode(code, globals, globals);
    Py_DECREF(code);
    if (!result) return -1;
    Py_DECREF(result);
    result = PyObject_CallMethod(module, "install", "s", exe);
    if (!result) return -1;
    Py_DECREF(result);
    return 0;
}

const char *rps_start(const rps_start_options *options, PyStatus *status) {
    *status = PyStatus_Ok();
    char exe_dir[PATH_MAX];
    snprintf(exe_dir, sizeof exe_dir, "%s", options->executable);
    char *slash = strrchr(exe_dir, '/');
    if (slash) *(slash == exe_dir ? slash + 1 : slash) = '\0';

    if (PyImport_AppendInittab("_rps_blob", rps_blob_init) < 0 ||
        PyImport_AppendInittab("_rps_pathhook", rps_pathhook_init) < 0 || rps_register_extensions() < 0) {
        *status = PyStatus_Error("cannot register the built-in extension modules");
        return "cannot register the built-in extension modules";
    }

    PyPreConfig preconfig;
    PyPreConfig_InitIsolatedConfig(&preconfig);
    preconfig.utf8_mode = 1;
    if (!options->isolated) {
        preconfig.isolated = 0;
        preconfig.use_environment = 1;
    }
    /* With python's command line, -X dev, -X utf8, -E and -I are pre-initialization settings. */
    preconfig.parse_argv = options->python_command_line;
    if (!options->isolated || options->python_command_line) preconfig.dev_mode = -1; /* as in configure() */
    *status = options->python_command_line ? Py_PreInitializeFromBytesArgs(&preconfig, options->argc, options->argv)
                                           : Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(*status)) return "cannot pre-initialize the interpreter";

    PyConfig config;
    *status = configure(&config, options, exe_dir);
    if (!PyStatus_Exception(*status)) *status = Py_InitializeFromConfig(&config);
    if (PyStatus_Exception(*status)) {
        PyConfig_Clear(&config);
        return "cannot initialize the interpreter";
    }
    if (install_importer(options->executable) < 0) {
        PyConfig_Clear(&config);
        return "cannot install the in-memory importer";
    }
    /* Before the main phase imports io and os, so they copy the wrapped functions. */
    if (rps_pathhook_install(options->executable) < 0) {
        PyConfig_Clear(&config);
        return "cannot install the view of the packed files";
    }
    /* The main phase: the same configuration again, now with _init_main. An initialized core
     * makes Py_InitializeFromConfig re-apply the configuration and run only the main phase.
     * (_Py_InitializeMain() did the same but is gone from CPython 3.14; this works on 3.8+.) */
    config._init_main = 1;
    *status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(*status)) return "cannot initialize the interpreter's main phase";
    if (options->python_command_line) {
        PyObject *command = python_command(options, exe_dir);
        PyObject *importer = command ? PyImport_ImportModule("_rps_importer") : NULL;
        int failed = !importer || PyObject_SetAttrString(importer, "python_command", command) < 0;
        Py_XDECREF(importer);
        Py_XDECREF(command);
        if (failed) return "cannot pass the Python command line to the in-memory importer";
    }
    return NULL;
}

/* Calls sys.modules[module_name].function() if that module was imported; an error is reported
 * like CPython reports one during finalization. */
static void call_if_imported(const char *module_name, const char *function) {
    PyObject *modules = PySys_GetObject("modules"); /* borrowed */
    PyObject *module = modules ? PyMapping_GetItemString(modules, module_name) : NULL;
    if (!module) {
        PyErr_Clear();
        return;
    }
    PyObject *result = PyObject_CallMethod(module, function, NULL);
    if (!result) PyErr_WriteUnraisable(module);
    Py_XDECREF(result);
    Py_DECREF(module);
}

/* Flushes every open text and buffered file object except the standard streams (which
 * Py_FinalizeEx flushes itself, with exit status 120 if that fails). Text layers go first so
 * their pending text reaches the binary buffers under them. Errors are dropped, as CPython
 * drops them when it closes a file object during finalization (outside dev mode). */
static void flush_open_files(void) {
    static const char *const layers[2][3] = {
        {"TextIOWrapper", NULL, NULL},
        {"BufferedWriter", "BufferedRandom", "BufferedRWPair"},
    };
    PyObject *io = PyImport_ImportModule("_io");
    PyObject *gc = io ? PyImport_ImportModule("gc") : NULL;
    PyObject *objects = gc ? PyObject_CallMethod(gc, "get_objects", NULL) : NULL;
    PyObject *sys_streams[4] = {
        PySys_GetObject("stdout"), PySys_GetObject("stderr"),
        PySys_GetObject("__stdout__"), PySys_GetObject("__stderr__"),
    };
    for (int layer = 0; objects && layer < 2; layer++) {
        PyTypeObject *types[3] = {NULL, NULL, NULL};
        for (int k = 0; k < 3 && layers[layer][k]; k++)
            types[k] = (PyTypeObject *)PyObject_GetAttrString(io, layers[layer][k]);
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(objects); i++) {
            PyObject *file = PyList_GET_ITEM(objects, i);
            int match = 0;
            for (int k = 0; k < 3; k++)
                if (types[k] && PyType_Check(types[k]) && PyObject_TypeCheck(file, types[k])) match = 1;
            for (int k = 0; k < 4; k++)
                if (file == sys_streams[k]) match = 0;
            if (!match) continue;
            PyObject *closed = PyObject_GetAttrString(file, "closed");
            int open = closed && PyObject_Not(closed) == 1;
            Py_XDECREF(closed);
            PyObject *result = open ? PyObject_CallMethod(file, "flush", NULL) : NULL;
            Py_XDECREF(result);
            PyErr_Clear();
        }
        for (int k = 0; k < 3; k++) Py_XDECREF(types[k]);
    }
    PyErr_Clear();
    Py_XDECREF(objects);
    Py_XDECREF(gc);
    Py_XDECREF(io);
}

/* Ends the interpreter: CPython's finalization, without its most expensive part.
 *
 * Py_FinalizeEx runs full garbage collections over every object alive at exit: after many
 * imports that is most of the time a process spends exiting (docs/benchmarks.md). Those
 * collections only reclaim objects kept alive by reference cycles; of what they would finalize,
 * buffered file objects are what could lose data, so they are flushed first. Then the heap is
 * frozen (gc.freeze) so those collections skip it. The rest is Python's own order: non-daemon
 * threads are joined and atexit handlers run first, modules are cleared (finalizing what they
 * hold), the standard streams are flushed. With finalization = "full" it is Py_FinalizeEx alone.
 * Returns the process exit status. */
int rps_finalize(int status) {
    /* finalization = "full" (the header's runtime flags, packed by tools/pack). */
    if (!(rps_blob_runtime_flags() & RPS_RUNTIME_FULL_FINALIZATION)) {
        call_if_imported("threading", "_shutdown");
        call_if_imported("atexit", "_run_exitfuncs");
        flush_open_files();
        /* gc is a built-in module: importing it when the program did not costs microseconds. */
        PyObject *gc = PyImport_ImportModule("gc");
        PyObject *frozen = gc ? PyObject_CallMethod(gc, "freeze", NULL) : NULL;
        if (!frozen) PyErr_WriteUnraisable(gc);
        Py_XDECREF(frozen);
        Py_XDECREF(gc);
    }
    return Py_FinalizeEx() < 0 ? 120 : status;
}
