/* The baselines for embed_check's "never" scenario: the same program without the library, and
 * (SAME_LIBRARIES) with references to the shared C libraries CPython needs, so that the dynamic
 * loader maps the same libraries at start-up. */
#include <stdio.h>
#include <string.h>

#ifdef SAME_LIBRARIES
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <pty.h>
#include <sys/mman.h>

/* Referenced, never called: each library stays a DT_NEEDED entry. */
void *volatile rps_baseline_references[] = {
    (void *)sqrt, (void *)pthread_create, (void *)dlopen, (void *)shm_open, (void *)openpty,
};
#endif

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "never") == 0) {
        puts("never: Python was not called");
        return 0;
    }
    return 2;
}
