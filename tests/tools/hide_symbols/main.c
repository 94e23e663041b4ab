/* Links the fixture library (hidden or not) with -rdynamic: the hidden copy must still resolve. */
#include <stdio.h>

int fixture_c_global(int x);
int fixture_asm_global(void);

int main(void) {
    printf("%d\n", fixture_c_global(fixture_asm_global()));
    return 0;
}
