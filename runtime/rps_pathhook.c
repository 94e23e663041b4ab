/* _rps_pathhook: the file functions of `posix` and `_io`, wrapped so that paths under the
 * executable (`<sys.executable>/...`) are served from the packed resources (docs/rules.md,
 * "Files by path").
 *
 * Nothing real can live under the executable's path (it is a file, not a directory), so a path
 * with that prefix goes to the Python half (`_rps_view`, imported the first time one is seen)
 * and every other call goes straight to the original function. The wrappers are installed in
 * the `posix` and `_io` modules before the interpreter's main phase, so `os`, `io`, `builtins`
 * and every module that copies a function from them at import time (`from os import stat`,
 * glob's and tokenize's references) get them. The cost on other paths is one C call and a
 * prefix comparison (docs/rules.md gives the measured numbers).
 *
 * A relative path that leads under the executable (docutils makes its include paths relative to
 * the current directory: "../bin/app/docutils/...") cannot be told from an ordinary one without
 * the current directory. It goes to the kernel first, which fails with ENOTDIR (the executable is
 * a file); only then is it resolved against the current directory, and served by the view if it
 * lands under the executable. Ordinary calls that succeed pay nothing for this. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "rps_pathhook.h"

typedef struct {
    const char *module;    /* "posix" or "_io" */
    const char *name;      /* the function's name there */
    const char *handler;   /* the function of _rps_view that serves paths under the executable */
    int position[2];       /* positional index of each path argument, -1 if none */
    const char *keyword[2];
} hook_spec;

static const hook_spec SPECS[] = {
    {"posix", "stat", "stat", {0, -1}, {"path", NULL}},
    {"posix", "lstat", "lstat", {0, -1}, {"path", NULL}},
    {"posix", "access", "access", {0, -1}, {"path", NULL}},
    {"posix", "listdir", "listdir", {0, -1}, {"path", NULL}},
    {"posix", "scandir", "scandir", {0, -1}, {"path", NULL}},
    {"posix", "readlink", "readlink", {0, -1}, {"path", NULL}},
    {"posix", "open", "open", {0, -1}, {"path", NULL}},
    {"posix", "listxattr", "listxattr", {0, -1}, {"path", NULL}},
    {"posix", "getxattr", "getxattr", {0, -1}, {"path", NULL}},
    {"posix", "statvfs", "statvfs", {0, -1}, {"path", NULL}},
    {"posix", "mkdir", "mkdir", {0, -1}, {"path", NULL}},
    {"posix", "rmdir", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "remove", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "unlink", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "rename", "read_only2", {0, 1}, {"src", "dst"}},
    {"posix", "replace", "read_only2", {0, 1}, {"src", "dst"}},
    {"posix", "link", "read_only2", {0, 1}, {"src", "dst"}},
    {"posix", "symlink", "read_only_dst", {1, -1}, {"dst", NULL}},
    {"posix", "chmod", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "chown", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "lchown", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "utime", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "truncate", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "mkfifo", "read_only_new", {0, -1}, {"path", NULL}},
    {"posix", "mknod", "read_only_new", {0, -1}, {"path", NULL}},
    {"posix", "setxattr", "read_only", {0, -1}, {"path", NULL}},
    {"posix", "removexattr", "read_only", {0, -1}, {"path", NULL}},
    {"_io", "open", "io_open", {0, -1}, {"file", NULL}},
};
#define HOOK_COUNT ((int)(sizeof SPECS / sizeof SPECS[0]))

typedef PyObject *(*fast_fn)(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);

typedef struct {
    PyObject *original; /* the wrapped function (strong reference) */
    fast_fn fast;       /* its C function, when it takes METH_FASTCALL | METH_KEYWORDS */
    PyObject *self;     /* its __self__ (borrowed from original) */
    PyObject *handler;  /* _rps_view.<handler>, looked up on first use */
    PyMethodDef def;
} hook_t;

static hook_t hooks[HOOK_COUNT];
static PyObject *prefix_str;   /* sys.executable + "/" */
static PyObject *prefix_bytes;
static const char *prefix_utf8;
static Py_ssize_t prefix_chars;
static int prefix_ascii;

static int str_matches(PyObject *s) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n < prefix_chars) return 0;
    if (prefix_ascii) {
        /* A 1-byte-kind string holds Latin-1 code points: equal bytes mean equal characters. */
        if (PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND)
            return memcmp(PyUnicode_DATA(s), prefix_utf8, (size_t)prefix_chars) == 0;
        if (PyUnicode_READ_CHAR(s, 0) != (Py_UCS4)(unsigned char)prefix_utf8[0]) return 0;
    }
    return PyUnicode_Tailmatch(s, prefix_str, 0, prefix_chars, -1) == 1;
}

static int bytes_matches(PyObject *b) {
    Py_ssize_t n = PyBytes_GET_SIZE(prefix_bytes);
    return PyBytes_GET_SIZE(b) >= n && memcmp(PyBytes_AS_STRING(b), PyBytes_AS_STRING(prefix_bytes), (size_t)n) == 0;
}

/* 1 if `arg` names a path under the executable, 0 if not, -1 with an exception. A path-like
 * object other than str and bytes is converted once: *converted gets its os.fspath() (a new
 * reference), which the original function is then given instead, so it is not converted twice. */
static int matches(PyObject *arg, PyObject **converted) {
    *converted = NULL;
    if (PyUnicode_Check(arg)) return str_matches(arg);
    if (PyBytes_Check(arg)) return bytes_matches(arg);
    if (arg == Py_None || PyLong_Check(arg)) return 0;
    PyObject *path = PyOS_FSPath(arg);
    if (!path) {
        /* Not path-like: the original function raises its own TypeError. */
        PyErr_Clear();
        return 0;
    }
    *converted = path;
    return PyUnicode_Check(path) ? str_matches(path) : bytes_matches(path);
}

/* Where argument `k` of hook `h` is in a vectorcall: its index in args, or -1. */
static Py_ssize_t argument_index(const hook_spec *h, int k, Py_ssize_t nargs, PyObject *kwnames) {
    if (h->position[k] < 0) return -1;
    if (h->position[k] < nargs) return h->position[k];
    if (!kwnames) return -1;
    Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t j = 0; j < nkw; j++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, j);
        if (PyUnicode_CompareWithASCIIString(key, h->keyword[k]) == 0) return nargs + j;
    }
    return -1;
}

static PyObject *view_function(const char *name) {
    PyObject *view = PyImport_ImportModule("_rps_view");
    if (!view) return NULL;
    PyObject *function = PyObject_GetAttrString(view, name);
    Py_DECREF(view);
    return function;
}

static PyObject *call_handler(int i, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    hook_t *hook = &hooks[i];
    if (!hook->handler && !(hook->handler = view_function(SPECS[i].handler))) return NULL;
    return PyObject_Vectorcall(hook->handler, args, nargsf, kwnames);
}

/* 1 if the path (str or bytes, after os.fspath) is relative. */
static int is_relative(PyObject *path) {
    if (PyUnicode_Check(path)) return PyUnicode_GET_LENGTH(path) > 0 && PyUnicode_READ_CHAR(path, 0) != '/';
    if (PyBytes_Check(path)) return PyBytes_GET_SIZE(path) > 0 && PyBytes_AS_STRING(path)[0] != '/';
    return 0;
}

/* 1 if the call names a directory descriptor (dir_fd=, src_dir_fd=, ...) or an opener (which may
 * use one): its relative paths are not relative to the current directory. */
static int has_base(int i, Py_ssize_t nargs, PyObject *const *args, PyObject *kwnames) {
    int io = strcmp(SPECS[i].module, "_io") == 0;
    if (io && nargs > 7 && args[7] != Py_None) return 1; /* open(file, ..., closefd, opener) */
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t j = 0; j < nkw; j++) {
        if (args[nargs + j] == Py_None) continue;
        const char *key = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, j));
        if (!key) {
            PyErr_Clear();
            continue;
        }
        size_t n = strlen(key);
        if ((n >= 6 && strcmp(key + n - 6, "dir_fd") == 0) || (io && strcmp(key, "opener") == 0)) return 1;
    }
    return 0;
}

/* The pending exception, kept aside (PyErr_GetRaisedException is 3.12 and newer). */
typedef struct {
    PyObject *type, *value, *traceback;
} saved_error;

static void save_error(saved_error *e) {
#if PY_VERSION_HEX >= 0x030C0000
    e->type = e->traceback = NULL;
    e->value = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&e->type, &e->value, &e->traceback);
#endif
}

static void restore_error(saved_error *e) {
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(e->value);
#else
    PyErr_Restore(e->type, e->value, e->traceback);
#endif
}

static void drop_error(saved_error *e) {
    Py_XDECREF(e->type);
    Py_XDECREF(e->value);
    Py_XDECREF(e->traceback);
}

static PyObject *view_under; /* _rps_view.under, looked up on first use */

/* After the kernel failed a call with relative paths (ENOTDIR, or access() false): 1 if one of
 * them, resolved against the current directory, is under the executable; 0 if not; -1 with an
 * exception. The pending exception, if any, is kept for the caller to restore. */
static int relative_hit(PyObject *const paths[2]) {
    if (!view_under && !(view_under = view_function("under"))) return -1;
    for (int k = 0; k < 2; k++) {
        if (!paths[k] || !is_relative(paths[k])) continue;
        PyObject *answer = PyObject_CallOneArg(view_under, paths[k]);
        if (!answer) return -1;
        int hit = PyObject_IsTrue(answer);
        Py_DECREF(answer);
        if (hit) return hit;
    }
    return 0;
}

/* The kernel's answer for a call whose paths did not start with the executable's: if it says a
 * relative path went through a file (ENOTDIR) and that path leads under the executable, the
 * view's answer instead. Steals `result`. Kept out of line: only failed calls come here. */
__attribute__((noinline, cold)) static PyObject *retry_relative(int i, PyObject *result, Py_ssize_t const where[2], PyObject *const converted[2],
                                PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    PyObject *paths[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++)
        if (where[k] >= 0) paths[k] = converted[k] ? converted[k] : args[where[k]];
    int failed = result == NULL;
    if (failed) {
        if (!PyErr_ExceptionMatches(PyExc_NotADirectoryError)) return NULL;
    } else if (result != Py_False || strcmp(SPECS[i].name, "access") != 0) {
        return result; /* access() says false for every error: it is checked as a failure */
    }
    if (!(paths[0] && is_relative(paths[0])) && !(paths[1] && is_relative(paths[1]))) return result;
    if (has_base(i, PyVectorcall_NARGS(nargsf), args, kwnames)) return result;
    saved_error saved;
    save_error(&saved);
    int hit = relative_hit(paths);
    if (hit <= 0) {
        if (hit < 0) PyErr_Clear(); /* the view could not answer: the kernel's answer stands */
        restore_error(&saved);
        return result;
    }
    drop_error(&saved);
    Py_XDECREF(result);
    return call_handler(i, args, nargsf, kwnames);
}

#define MAX_STACK 16

/* The original function: its C function directly when it takes exactly our calling convention
 * (every hooked function does in CPython 3.11 to 3.13), which saves the vectorcall dispatch. */
static inline PyObject *call_original(hook_t *hook, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    if (hook->fast) return hook->fast(hook->self, args, PyVectorcall_NARGS(nargsf), kwnames);
    return PyObject_Vectorcall(hook->original, args, nargsf, kwnames);
}

static PyObject *dispatch(int i, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    const hook_spec *spec = &SPECS[i];
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *converted[2] = {NULL, NULL};
    Py_ssize_t where[2] = {-1, -1};
    int hit = 0;
    for (int k = 0; k < 2; k++) {
        where[k] = argument_index(spec, k, nargs, kwnames);
        if (where[k] < 0) continue;
        int m = matches(args[where[k]], &converted[k]);
        if (m < 0) goto error;
        if (m) hit = 1;
    }
    PyObject *result;
    if (hit) {
        result = call_handler(i, args, nargsf, kwnames);
    } else {
        if ((converted[0] || converted[1]) && total <= MAX_STACK) {
            PyObject *stack[MAX_STACK];
            memcpy(stack, args, (size_t)total * sizeof(PyObject *));
            for (int k = 0; k < 2; k++)
                if (converted[k]) stack[where[k]] = converted[k];
            result = call_original(&hooks[i], stack, (size_t)nargs, kwnames);
        } else {
            result = call_original(&hooks[i], args, nargsf, kwnames);
        }
        if (__builtin_expect(result == NULL || result == Py_False, 0))
            result = retry_relative(i, result, where, converted, args, nargsf, kwnames);
    }
    Py_XDECREF(converted[0]);
    Py_XDECREF(converted[1]);
    return result;
error:
    Py_XDECREF(converted[0]);
    Py_XDECREF(converted[1]);
    return NULL;
}

/* One C function per hook, so each wrapper's __self__ is its module (as the original's is):
 * pickling and inspect see the same function. */
#define TRAMPOLINE(n)                                                                              \
    static PyObject *trampoline_##n(PyObject *self, PyObject *const *args, Py_ssize_t nargsf,     \
                                    PyObject *kwnames) {                                           \
        (void)self;                                                                                \
        return dispatch(n, args, (size_t)nargsf, kwnames);                                         \
    }
TRAMPOLINE(0) TRAMPOLINE(1) TRAMPOLINE(2) TRAMPOLINE(3) TRAMPOLINE(4) TRAMPOLINE(5) TRAMPOLINE(6)
TRAMPOLINE(7) TRAMPOLINE(8) TRAMPOLINE(9) TRAMPOLINE(10) TRAMPOLINE(11) TRAMPOLINE(12)
TRAMPOLINE(13) TRAMPOLINE(14) TRAMPOLINE(15) TRAMPOLINE(16) TRAMPOLINE(17) TRAMPOLINE(18)
TRAMPOLINE(19) TRAMPOLINE(20) TRAMPOLINE(21) TRAMPOLINE(22) TRAMPOLINE(23) TRAMPOLINE(24)
TRAMPOLINE(25) TRAMPOLINE(26) TRAMPOLINE(27) TRAMPOLINE(28) TRAMPOLINE(29) TRAMPOLINE(30)
TRAMPOLINE(31)

typedef PyObject *(*trampoline_fn)(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
static const trampoline_fn TRAMPOLINES[] = {
    trampoline_0, trampoline_1, trampoline_2, trampoline_3, trampoline_4, trampoline_5,
    trampoline_6, trampoline_7, trampoline_8, trampoline_9, trampoline_10, trampoline_11,
    trampoline_12, trampoline_13, trampoline_14, trampoline_15, trampoline_16, trampoline_17,
    trampoline_18, trampoline_19, trampoline_20, trampoline_21, trampoline_22, trampoline_23,
    trampoline_24, trampoline_25, trampoline_26, trampoline_27, trampoline_28, trampoline_29,
    trampoline_30, trampoline_31,
};

int rps_pathhook_install(const char *executable) {
    if (HOOK_COUNT > (int)(sizeof TRAMPOLINES / sizeof TRAMPOLINES[0])) {
        PyErr_SetString(PyExc_SystemError, "more path hooks than trampolines");
        return -1;
    }
    PyObject *prefix = PyUnicode_FromFormat("%s/", executable);
    if (!prefix) return -1;
    prefix_str = prefix;
    prefix_bytes = PyUnicode_EncodeFSDefault(prefix);
    if (!prefix_bytes) return -1;
    prefix_utf8 = PyUnicode_AsUTF8(prefix);
    if (!prefix_utf8) return -1;
    prefix_chars = PyUnicode_GET_LENGTH(prefix);
    prefix_ascii = PyUnicode_IS_ASCII(prefix);
    /* Both are built-in modules: posix is imported by the core already, _io would be by the
     * main phase. Each is imported once (start-up time). */
    PyObject *modules[2] = {PyImport_ImportModule("posix"), PyImport_ImportModule("_io")};
    PyObject *names[2] = {PyUnicode_FromString("posix"), PyUnicode_FromString("_io")};
    int failed = 0;
    for (int m = 0; m < 2; m++)
        if (!modules[m] || !names[m]) failed = 1;
    for (int i = 0; i < HOOK_COUNT && !failed; i++) {
        int m = strcmp(SPECS[i].module, "_io") == 0;
        PyObject *module = modules[m];
        PyObject *original = PyObject_GetAttrString(module, SPECS[i].name);
        if (!original) {
            PyErr_Clear(); /* not on this platform */
            continue;
        }
        if (!PyCFunction_Check(original)) {
            Py_DECREF(original);
            continue;
        }
        hook_t *hook = &hooks[i];
        hook->original = original;
        PyMethodDef *def = ((PyCFunctionObject *)original)->m_ml;
        if (def->ml_flags == (METH_FASTCALL | METH_KEYWORDS)) {
            hook->fast = (fast_fn)(void (*)(void))def->ml_meth;
            hook->self = PyCFunction_GET_SELF(original);
        }
        hook->def.ml_name = SPECS[i].name;
        hook->def.ml_meth = (PyCFunction)(void (*)(void))TRAMPOLINES[i];
        hook->def.ml_flags = METH_FASTCALL | METH_KEYWORDS;
        hook->def.ml_doc = ((PyCFunctionObject *)original)->m_ml->ml_doc; /* help() and inspect.signature */
        PyObject *wrapper = PyCFunction_NewEx(&hook->def, module, names[m]);
        failed = !wrapper || PyObject_SetAttrString(module, SPECS[i].name, wrapper) < 0;
        Py_XDECREF(wrapper);
    }
    for (int m = 0; m < 2; m++) {
        Py_XDECREF(modules[m]);
        Py_XDECREF(names[m]);
    }
    return failed ? -1 : 0;
}

/* original(handler_name) -> the wrapped function (the view reads and opens through these). */
static PyObject *pathhook_original(PyObject *self, PyObject *arg) {
    const char *wanted = PyUnicode_AsUTF8(arg);
    if (!wanted) return NULL;
    for (int i = 0; i < HOOK_COUNT; i++) {
        const char *key = strcmp(SPECS[i].module, "_io") == 0 ? "io_open" : SPECS[i].name;
        if (strcmp(key, wanted) == 0 && hooks[i].original) return Py_NewRef(hooks[i].original);
    }
    return PyErr_Format(PyExc_KeyError, "no path hook %R", arg);
}

static PyObject *pathhook_prefix(PyObject *self, PyObject *unused) {
    if (!prefix_str) Py_RETURN_NONE;
    return Py_NewRef(prefix_str);
}

static PyMethodDef methods[] = {
    {"original", pathhook_original, METH_O, "original(name) -> the function the hook wraps"},
    {"prefix", pathhook_prefix, METH_NOARGS, "prefix() -> sys.executable + '/': the paths the view serves"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_rps_pathhook", "Paths under the executable, served from its packed resources.",
    0, methods, slots,
};

PyObject *rps_pathhook_init(void) { return PyModuleDef_Init(&module_def); }

/* --- dlopen() of a path under the executable ------------------------------------------------
 *
 * ctypes and cffi load a package's own shared library by its path next to the package
 * (soundfile's `_soundfile_data/libsndfile_x86_64.so`, llvmlite's `libllvmlite.so`): a path under
 * the executable, which the kernel cannot open. This dlopen, defined in the executable, comes
 * before the C library's in every lookup (CPython's _ctypes, extension modules from wheels): a
 * path under the executable is loaded from a memory file holding the packed file (`_rps_view`),
 * every other call goes on to the C library's dlopen as a tail call, so that it still sees its
 * real caller (whose RUNPATH a bare name is searched in). glibc only: a static musl binary has
 * no dlopen. */
#if defined(__GLIBC__)
#include <dlfcn.h>
#include <unistd.h>

#if PY_VERSION_HEX < 0x030D0000
#define Py_IsFinalizing _Py_IsFinalizing
#endif

typedef void *(*dlopen_fn)(const char *, int);
static dlopen_fn next_dlopen;

static void *packed_dlopen(const char *file, int mode, int *found) {
    *found = 0;
    if (!Py_IsInitialized() || Py_IsFinalizing()) return NULL;
    PyGILState_STATE gil = PyGILState_Ensure();
    void *handle = NULL;
    PyObject *result = NULL;
    PyObject *function = view_function("memory_file");
    if (function) {
        result = PyObject_CallFunction(function, "y", file);
        Py_DECREF(function);
    }
    int fd;
    const char *path;
    if (result && result != Py_None && PyArg_ParseTuple(result, "is", &fd, &path)) {
        *found = 1;
        handle = next_dlopen(path, mode); /* its dlerror() names the memory file on failure */
        close(fd);
    }
    if (PyErr_Occurred()) PyErr_Clear(); /* then the kernel's answer for the path stands */
    Py_XDECREF(result);
    PyGILState_Release(gil);
    return handle;
}

__attribute__((visibility("default"))) void *dlopen(const char *file, int mode) {
    if (!next_dlopen) next_dlopen = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
    if (file && prefix_bytes && strncmp(file, PyBytes_AS_STRING(prefix_bytes), (size_t)PyBytes_GET_SIZE(prefix_bytes)) == 0) {
        int found;
        void *handle = packed_dlopen(file, mode, &found);
        if (found) return handle;
    }
    __attribute__((musttail)) return next_dlopen(file, mode);
}
#endif
