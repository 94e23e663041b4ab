#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  (void)argv;
  volatile double subnormal = 1e-308;
  /* A 128-bit division by a run-time value needs __udivti3 from compiler_rt. */
  unsigned __int128 product = (unsigned __int128)strtoull("18446744073709551615", 0, 10) * 3;
  unsigned __int128 divisor = (unsigned __int128)(argc + 8);
  printf("hello from C: log2=%.17g div=%llu\n", log2(subnormal),
         (unsigned long long)(product / divisor));
  return 0;
}
