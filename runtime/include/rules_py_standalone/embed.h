/* rules_py_standalone/embed.h: the embedding API of py_standalone_library (docs/embedding.md).
 *
 * A static CPython, its standard library and the library's Python modules, imported from
 * memory, for a larger C or C++ program that keeps its own main():
 *
 *     rps_embed_config config = RPS_EMBED_CONFIG_INIT;
 *     rps_embed_configure(&config);             // nothing of Python runs yet
 *     rps_embed_value arg = RPS_EMBED_STR_VALUE("world");
 *     rps_embed_result result;
 *     if (rps_embed_call("greeter", "greet", &arg, 1, &result) == RPS_EMBED_OK) {  // starts Python
 *         puts(result.data);
 *         rps_embed_result_free(&result);
 *     } else {
 *         fputs(rps_embed_last_error(), stderr);
 *     }
 *     rps_embed_finalize();
 *
 * Every function returns an rps_embed_status; on anything but RPS_EMBED_OK,
 * rps_embed_last_error() says what happened (for a Python exception: its traceback).
 * Threads: call the API from one thread at a time (see docs/embedding.md, "Threads and the GIL");
 * it holds the GIL only while a call runs. */
#ifndef RULES_PY_STANDALONE_EMBED_H
#define RULES_PY_STANDALONE_EMBED_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RPS_EMBED_API __attribute__((visibility("default")))

typedef enum {
    RPS_EMBED_OK = 0,
    RPS_EMBED_NOT_CONFIGURED = 1,      /* rps_embed_configure() was not called */
    RPS_EMBED_ALREADY_INITIALIZED = 2, /* a second initialize, or configure after Python started */
    RPS_EMBED_FINALIZED = 3,           /* rps_embed_finalize() was called: Python cannot be used again */
    RPS_EMBED_INIT_FAILED = 4,         /* the interpreter could not start (the error says why) */
    RPS_EMBED_PYTHON_ERROR = 5,        /* Python raised an exception; the error is its traceback */
    RPS_EMBED_NOT_FOUND = 6,           /* the module is not in the library (or the function not in it) */
    RPS_EMBED_BAD_ARGUMENT = 7,        /* a NULL pointer, an unknown value kind, text that is not UTF-8 */
    RPS_EMBED_WRONG_THREAD = 8         /* finalize from another thread than the one that started Python */
} rps_embed_status;

typedef struct {
    int argc;                          /* sys.argv; 0: sys.argv is [""] */
    const char *const *argv;
    int isolated;                      /* 1: ignore PYTHON* environment variables (python -I) */
    int install_signal_handlers;       /* 1: Python's handlers (SIGINT -> KeyboardInterrupt, ...) */
    const char *const *extra_sys_path; /* appended to sys.path after the library's own entry */
    size_t extra_sys_path_count;
} rps_embed_config;

/* Isolated, no signal handlers (the host program owns its signals), no extra sys.path. */
#define RPS_EMBED_CONFIG_INIT {0, NULL, 1, 0, NULL, 0}

typedef enum { RPS_EMBED_NONE = 0, RPS_EMBED_STR = 1, RPS_EMBED_BYTES = 2 } rps_embed_kind;

/* An argument: UTF-8 text (a Python str) or bytes. `data` need not be NUL-terminated. */
typedef struct {
    rps_embed_kind kind;
    const char *data;
    size_t size;
} rps_embed_value;

#define RPS_EMBED_STR_VALUE(text) {RPS_EMBED_STR, (text), __builtin_strlen(text)}
#define RPS_EMBED_BYTES_VALUE(bytes, n) {RPS_EMBED_BYTES, (const char *)(bytes), (n)}

/* A result: None (data NULL), a str (as UTF-8) or bytes; any other object is given as its str().
 * `data` is NUL-terminated (the NUL is not counted in `size`); free it with rps_embed_result_free. */
typedef struct {
    rps_embed_kind kind;
    char *data;
    size_t size;
} rps_embed_result;

/* Settings for the interpreter, copied; before the first call (may be called again until then). */
RPS_EMBED_API rps_embed_status rps_embed_configure(const rps_embed_config *config);

/* Starts Python now instead of at the first call. A second call: RPS_EMBED_ALREADY_INITIALIZED. */
RPS_EMBED_API rps_embed_status rps_embed_initialize(void);

/* Runs `module` of the library as __main__ (like python -m). `exit_status` (may be NULL) gets 0,
 * or the status of a SystemExit it raised; the process never exits. */
RPS_EMBED_API rps_embed_status rps_embed_run_module(const char *module, int *exit_status);

/* Calls module.function(*args), importing the module first; `result` gets what it returned. */
RPS_EMBED_API rps_embed_status rps_embed_call(const char *module, const char *function,
                                              const rps_embed_value *args, size_t nargs,
                                              rps_embed_result *result);

/* Runs Python source (UTF-8) in __main__'s namespace, like python -c. */
RPS_EMBED_API rps_embed_status rps_embed_run_string(const char *code);

/* Ends the interpreter (threads joined, atexit handlers run, files flushed). Afterwards every
 * function returns RPS_EMBED_FINALIZED: CPython cannot be started twice in one process. */
RPS_EMBED_API rps_embed_status rps_embed_finalize(void);

RPS_EMBED_API void rps_embed_result_free(rps_embed_result *result);

/* What the last call that failed said; "" if none. Valid until the next call of this API. */
RPS_EMBED_API const char *rps_embed_last_error(void);

/* The name of a status ("RPS_EMBED_NOT_FOUND"). */
RPS_EMBED_API const char *rps_embed_status_name(rps_embed_status status);

#ifdef __cplusplus
}
#endif

#endif
