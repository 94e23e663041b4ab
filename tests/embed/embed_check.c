/* Drives the embedding API for tests/embed/test_embed.py; one scenario per first argument.
 *
 * Each API call prints one line `<label>: <status name>: <result or error>` (newlines in the
 * text as \n), so the test compares what every call gave. Built by Bazel against
 * py_standalone_library and, by the test itself, with the host's plain cc against the shared
 * object (py_standalone_shared_library), with -DHOST_ZLIB for the "interposition" scenario. */
#include <rules_py_standalone/embed.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void show(const char *label, rps_embed_status status, const char *text) {
    printf("%s: %s: ", label, rps_embed_status_name(status));
    if (!text) text = status == RPS_EMBED_OK ? "" : rps_embed_last_error();
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stdout);
        else
            putchar(*p);
    }
    putchar('\n');
    fflush(stdout);
}

static void call(const char *label, const char *module, const char *function, const rps_embed_value *args, size_t n) {
    rps_embed_result result = {RPS_EMBED_NONE, NULL, 0};
    rps_embed_status status = rps_embed_call(module, function, args, n, &result);
    if (status == RPS_EMBED_OK) {
        static const char *const kinds[] = {"none", "str", "bytes"};
        char text[1024];
        snprintf(text, sizeof text, "%s %zu %s", kinds[result.kind], result.size, result.data ? result.data : "-");
        show(label, status, text);
    } else {
        show(label, status, NULL);
    }
    rps_embed_result_free(&result);
}

static rps_embed_status configure(int isolated) {
    static const char *const argv[] = {"embedded", "first", "second"};
    static const char *const extra[] = {"/nonexistent/extra-path"};
    rps_embed_config config = RPS_EMBED_CONFIG_INIT;
    config.argc = 3;
    config.argv = argv;
    config.isolated = isolated;
    config.extra_sys_path = extra;
    config.extra_sys_path_count = 1;
    return rps_embed_configure(&config);
}

static void *finalize_elsewhere(void *unused) {
    (void)unused;
    show("finalize from another thread", rps_embed_finalize(), NULL);
    return NULL;
}

static void *call_elsewhere(void *unused) {
    (void)unused;
    rps_embed_value args[] = {RPS_EMBED_STR_VALUE("from a C thread")};
    call("call from another C thread", "embedded.calls", "echo", args, 1);
    return NULL;
}

static void calls(void) {
    show("configure", configure(1), NULL);
    rps_embed_value text[] = {RPS_EMBED_STR_VALUE("h\xc3\xa9llo")};
    call("echo", "embedded.calls", "echo", text, 1);
    rps_embed_value pair[] = {RPS_EMBED_STR_VALUE("a"), RPS_EMBED_STR_VALUE("b")};
    call("concat 1", "embedded.calls", "concat", pair, 2);
    call("concat 2", "embedded.calls", "concat", pair, 2);
    rps_embed_value bytes[] = {RPS_EMBED_BYTES_VALUE("xyz", 3)};
    call("bytes", "embedded.calls", "size", bytes, 1);
    call("none", "embedded.calls", "nothing", NULL, 0);
    call("number", "embedded.calls", "number", NULL, 0);
    rps_embed_value boom[] = {RPS_EMBED_STR_VALUE("boom")};
    call("exception", "embedded.calls", "fail", boom, 1);
    call("after the exception", "embedded.calls", "echo", text, 1);
    call("package data", "embedded.calls", "package_data", NULL, 0);
    call("metadata", "embedded.calls", "metadata", NULL, 0);
    call("state", "embedded.calls", "state", NULL, 0);
    int exit_status = -1;
    show("run module", rps_embed_run_module("embedded.plugin", &exit_status), NULL);
    printf("exit status: %d\n", exit_status);
    show("run string", rps_embed_run_string("import embedded.calls as c; c.calls = 100"), NULL);
    call("state kept by run string", "embedded.calls", "concat", pair, 2);
    show("run string raising", rps_embed_run_string("1/0"), NULL);
    show("finalize", rps_embed_finalize(), NULL);
    call("call after finalize", "embedded.calls", "echo", text, 1);
    show("run string after finalize", rps_embed_run_string("pass"), NULL);
    show("initialize after finalize", rps_embed_initialize(), NULL);
    show("finalize again", rps_embed_finalize(), NULL);
}

static void bad(void) {
    rps_embed_value text[] = {RPS_EMBED_STR_VALUE("x")};
    call("call before configure", "embedded.calls", "echo", text, 1);
    show("initialize before configure", rps_embed_initialize(), NULL);
    show("run module before configure", rps_embed_run_module("embedded.plugin", NULL), NULL);
    show("configure NULL", rps_embed_configure(NULL), NULL);
    show("configure", configure(1), NULL);
    show("initialize", rps_embed_initialize(), NULL);
    show("initialize again", rps_embed_initialize(), NULL);
    show("configure after initialize", configure(1), NULL);
    call("module not in the library", "no_such_module", "f", NULL, 0);
    call("function not in the module", "embedded.calls", "no_such_function", NULL, 0);
    call("missing import inside", "embedded.calls", "imports_missing", NULL, 0);
    show("run module not in the library", rps_embed_run_module("no.such.plugin", NULL), NULL);
    rps_embed_value not_utf8[] = {{RPS_EMBED_STR, "\xff\xfe", 2}};
    call("text that is not UTF-8", "embedded.calls", "echo", not_utf8, 1);
    rps_embed_value unknown_kind[] = {{(rps_embed_kind)99, "x", 1}};
    call("unknown value kind", "embedded.calls", "echo", unknown_kind, 1);
    call("NULL module", NULL, "echo", text, 1);
    show("run string NULL", rps_embed_run_string(NULL), NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, finalize_elsewhere, NULL);
    pthread_join(thread, NULL);
    show("finalize", rps_embed_finalize(), NULL);
}

/* Python threads run while no call does (the GIL is released between calls), and another C
 * thread may call, one at a time. */
static void threads(void) {
    show("configure", configure(1), NULL);
    show("start a Python thread", rps_embed_run_string(
        "import threading, time, embedded.calls as c\n"
        "c.ticks = 0\n"
        "def tick():\n"
        "    while c.ticks < 5:\n"
        "        c.ticks += 1\n"
        "        time.sleep(0.01)\n"
        "threading.Thread(target=tick).start()\n"), NULL);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL); /* no API call: only the Python thread can run */
    show("ticks while C slept", rps_embed_run_string("import embedded.calls as c; assert c.ticks == 5, c.ticks"), NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, call_elsewhere, NULL);
    pthread_join(thread, NULL);
    show("finalize", rps_embed_finalize(), NULL);
}

/* Not isolated: PYTHON* variables apply, as in a binary built with isolated = False. */
static void environment(void) {
    show("configure", configure(0), NULL);
    call("state", "embedded.calls", "state", NULL, 0);
    show("finalize", rps_embed_finalize(), NULL);
}

#ifdef HOST_ZLIB
/* The host program's own zlibVersion: the library's zlib must neither take it nor give its own. */
const char *zlibVersion(void) { return "the host's zlib"; }

static void interposition(void) {
    printf("host zlibVersion: %s\n", zlibVersion());
    show("configure", configure(1), NULL);
    call("library zlib", "embedded.calls", "zlib_version", NULL, 0);
    show("finalize", rps_embed_finalize(), NULL);
}
#endif

/* Everything that touches the packed resources, after a marker the test finds in strace's log. */
static void traced(void) {
    write(2, "RPS-EMBED-MARK\n", 15);
    rps_embed_config config = RPS_EMBED_CONFIG_INIT; /* no extra sys.path: nothing on disk to search */
    show("configure", rps_embed_configure(&config), NULL);
    call("stdlib", "embedded.calls", "stdlib_tour", NULL, 0);
    call("package data", "embedded.calls", "package_data", NULL, 0);
    call("metadata", "embedded.calls", "metadata", NULL, 0);
    show("run module", rps_embed_run_module("embedded.plugin", NULL), NULL);
    show("finalize", rps_embed_finalize(), NULL);
}

int main(int argc, char **argv) {
    const char *scenario = argc > 1 ? argv[1] : "";
    /* First, as in without_library.c: the start-up comparison measures the library, not this
     * program's string literals (merged with CPython's, each in a page of its own). */
    if (strcmp(scenario, "never") == 0) {
        /* Linked with the library, whose API stays reachable, but not called. */
        if (argc > 2) traced();
        puts("never: Python was not called");
    } else if (strcmp(scenario, "calls") == 0) {
        calls();
    } else if (strcmp(scenario, "bad") == 0) {
        bad();
    } else if (strcmp(scenario, "threads") == 0) {
        threads();
    } else if (strcmp(scenario, "environment") == 0) {
        environment();
#ifdef HOST_ZLIB
    } else if (strcmp(scenario, "interposition") == 0) {
        interposition();
#endif
    } else if (strcmp(scenario, "strace") == 0) {
        traced();
    } else {
        fprintf(stderr, "usage: %s calls|bad|threads|environment|strace|never\n", argv[0]);
        return 2;
    }
    return 0;
}
