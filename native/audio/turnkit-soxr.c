/* turnkit's entry points into libsoxr: one-shot resampling of mono float32 with a named quality recipe. */
#include <stdlib.h>
#include "soxr.h"

__attribute__((export_name("tk_alloc"))) void *tk_alloc(size_t bytes) { return malloc(bytes); }
__attribute__((export_name("tk_free"))) void tk_free(void *p) { free(p); }

/* Resample `ilen` mono float32 samples at in_rate to out_rate into `out` (room for `olen`), quality recipe
   `recipe` (SOXR_HQ = 4, SOXR_VHQ = 6). Returns the samples written, or -1 on an error. */
__attribute__((export_name("tk_resample")))
long tk_resample(double in_rate, double out_rate, const float *in, size_t ilen, float *out, size_t olen, unsigned long recipe) {
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t q = soxr_quality_spec(recipe, 0);
  soxr_runtime_spec_t rt = soxr_runtime_spec(1);
  size_t odone = 0;
  soxr_error_t err = soxr_oneshot(in_rate, out_rate, 1, in, ilen, NULL, out, olen, &odone, &io, &q, &rt);
  return err ? -1 : (long)odone;
}
