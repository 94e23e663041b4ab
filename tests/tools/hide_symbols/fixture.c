/* A library the way the distribution's are: C globals (one data, one weak) and, in
 * fixture_asm.S, an assembly global, which -fvisibility=hidden cannot hide. */
int fixture_data = 40;

__attribute__((weak)) int fixture_weak(void) { return 1; }

int fixture_c_global(int x) { return x + fixture_data + fixture_weak(); }

/* Named like the C API: hidden in an archive all the same, kept in a python-build-standalone object. */
int PyFixture_Version(void) { return 3; }
