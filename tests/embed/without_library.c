/* The baseline for embed_check's "never" scenario: the same program without the library. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "never") == 0) {
        puts("never: Python was not called");
        return 0;
    }
    return 2;
}
