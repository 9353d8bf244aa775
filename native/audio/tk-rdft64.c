/* libsoxr's fft4g64.c callback table with every entry defined with the exact signature soxr calls it
   through (rdft_t.h): WebAssembly traps on a call through a mismatched function type, which native code tolerates. */
#include <stdlib.h>
#include "filter.h"

#include "fft4g.c"
#include "soxr-config.h"

#if WITH_CR64
#include "rdft_t.h"
static void * setup(int length) { (void)length; return 0; }
static void delete_setup(void * s) { (void)s; }
static void forward(int length, void * s, void * H, void * scratch) { lsx_safe_rdft(length, 1, (double *)H); (void)s; (void)scratch; }
static void backward(int length, void * s, void * H, void * scratch) { lsx_safe_rdft(length, -1, (double *)H); (void)s; (void)scratch; }
static void convolve(int n, void * s, void * a, void const * b) { _soxr_ordered_convolve(n, s, a, b); }
static void convolve_portion(int n, void * a, void const * b) { _soxr_ordered_partial_convolve(n, a, b); }
static int multiplier(void) { return 2; }
static void reorder_back(int length, void * s, void * H, void * scratch) { (void)length; (void)s; (void)H; (void)scratch; }
static void * alloc(size_t n) { return malloc(n); }
static void * calloc_(size_t n, size_t m) { return calloc(n, m); }
static void free_(void * p) { free(p); }
static int flags(void) { return 0; }

fn_t _soxr_rdft64_cb[] = {
  (fn_t)setup, (fn_t)setup, (fn_t)delete_setup, (fn_t)forward, (fn_t)forward, (fn_t)backward, (fn_t)backward,
  (fn_t)convolve, (fn_t)convolve_portion, (fn_t)multiplier, (fn_t)reorder_back, (fn_t)alloc, (fn_t)calloc_,
  (fn_t)free_, (fn_t)flags,
};
#endif
