/*
 * Linked into every glibc-target executable by the zig toolchain (docs/toolchain.md).
 *
 * zig's compiler_rt defines libm functions (log2, exp2, sin, ...) as weak hidden symbols.
 * Whenever a link needs compiler_rt for anything else (a 128-bit division, say), those
 * definitions win over glibc's libm.so and the program silently gets zig's versions, some
 * of which are wrong (log2 of a subnormal). The definitions below come first on the link
 * line (compiler_rt comes last), so among equally weak definitions they are the ones kept;
 * they call glibc's own functions through versioned references, which only libm.so can
 * satisfy. Weak, because build systems such as CPython's repeat LDFLAGS on a link line.
 * Hidden, because an exported definition (programs linked with -export-dynamic, like CPython's
 * build-time _bootstrap_python) would itself satisfy the versioned reference at run time:
 * the dynamic loader binds `cos@GLIBC_2.2.5` to the program's own unversioned `cos`, and the
 * forwarder jumps to itself forever.
 */
#define FORWARDER __attribute__((weak, visibility("hidden")))
#if defined(__x86_64__)
#define GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define GLIBC_BASE "GLIBC_2.17"
#else
#error "libm_forward.c: add the glibc base symbol version of this architecture"
#endif

#define FORWARD1(type, name)                                                  \
  extern type rps_glibc_##name(type);                                         \
  __asm__(".symver rps_glibc_" #name ", " #name "@" GLIBC_BASE);              \
  FORWARDER type name(type x) { return rps_glibc_##name(x); }

#define FORWARD2(type, name)                                                  \
  extern type rps_glibc_##name(type, type);                                   \
  __asm__(".symver rps_glibc_" #name ", " #name "@" GLIBC_BASE);              \
  FORWARDER type name(type x, type y) { return rps_glibc_##name(x, y); }

#define FORWARD3(type, name)                                                  \
  extern type rps_glibc_##name(type, type, type);                             \
  __asm__(".symver rps_glibc_" #name ", " #name "@" GLIBC_BASE);              \
  FORWARDER type name(type x, type y, type z) { return rps_glibc_##name(x, y, z); }

#define FORWARD_SINCOS(type, name)                                            \
  extern void rps_glibc_##name(type, type *, type *);                         \
  __asm__(".symver rps_glibc_" #name ", " #name "@" GLIBC_BASE);              \
  FORWARDER void name(type x, type *s, type *c) { rps_glibc_##name(x, s, c); }

#define FORWARD_ALL1(name) FORWARD1(double, name) FORWARD1(float, name##f) FORWARD1(long double, name##l)
#define FORWARD_ALL2(name) FORWARD2(double, name) FORWARD2(float, name##f) FORWARD2(long double, name##l)

/* Every libm function that zig 0.17's compiler_rt also defines (lib/compiler_rt.zig). */
FORWARD_ALL1(cos)
FORWARD_ALL1(sin)
FORWARD_ALL1(tan)
FORWARD_ALL1(exp)
FORWARD_ALL1(exp2)
FORWARD_ALL1(log)
FORWARD_ALL1(log10)
FORWARD_ALL1(log2)
FORWARD_ALL1(fabs)
FORWARD_ALL1(floor)
FORWARD_ALL1(ceil)
FORWARD_ALL1(round)
FORWARD_ALL1(sqrt)
FORWARD_ALL1(trunc)
FORWARD_ALL2(fmax)
FORWARD_ALL2(fmin)
FORWARD_ALL2(fmod)
FORWARD3(double, fma)
FORWARD3(float, fmaf)
FORWARD3(long double, fmal)
FORWARD_SINCOS(double, sincos)
FORWARD_SINCOS(float, sincosf)
FORWARD_SINCOS(long double, sincosl)
