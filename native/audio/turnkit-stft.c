/* turnkit's STFT power kernel: the centred, zero-padded frames of librosa.stft(center=True, pad_mode='constant'),
   windowed, through Ooura's real FFT (fft4g, double precision, as bundled with libsoxr) and squared: |X[k]|^2 for
   k = 0..nfft/2 of every frame, in double, frame after frame. The window comes from the caller, so its values are
   the caller's bits. */
#include <stdlib.h>
#include <string.h>

/* fft4g.c's rdft on two interleaved frames at once, each lane bit for bit the scalar rdft (tk-rdft2.cc). */
void tk_rdft2(int n, double *a, int *ip, double *w);

typedef double f64x2 __attribute__((vector_size(16)));

typedef struct {
  int nfft, hop;
  double *window, *pair, *w; /* pair: nfft (+ 2 spare) pairs, frame t in even slots, frame t + 1 in odd ones */
  double *spare;             /* where the power of the zero frame after an odd last frame goes */
  int *ip;
} stft_t;

__attribute__((export_name("tk_stft_new")))
stft_t *tk_stft_new(int nfft, int hop) {
  stft_t *s = calloc(1, sizeof(stft_t));
  if (!s) return 0;
  s->nfft = nfft;
  s->hop = hop;
  s->window = calloc((size_t)nfft, sizeof(double));
  /* f64x2 loads and stores want 16-byte alignment */
  s->pair = aligned_alloc(16, sizeof(double) * 2 * ((size_t)nfft + 2));
  s->w = aligned_alloc(16, sizeof(double) * 2 * ((size_t)nfft / 2 + 1));
  s->spare = calloc((size_t)nfft / 2 + 1, sizeof(double));
  s->ip = calloc(2 + 64 + (size_t)nfft / 2, sizeof(int)); /* Ooura needs 2 + sqrt(n / 2); generous */
  if (!s->window || !s->pair || !s->w || !s->spare || !s->ip) return 0;
  return s; /* ip[0] == 0: fft4g builds its tables on the first call */
}

/* The window, nfft doubles, written by the caller here. */
__attribute__((export_name("tk_stft_window")))
double *tk_stft_window(stft_t *s) { return s->window; }

/* Power frames of `n` samples into `power` (frames * (nfft / 2 + 1) doubles); returns the frame count,
   1 + n / hop as librosa. */
__attribute__((export_name("tk_stft_power")))
int tk_stft_power(stft_t *s, const float *samples, int n, double *power) {
  const int nfft = s->nfft, half = nfft / 2, bins = half + 1;
  const int frames = 1 + n / s->hop;
  double *a = s->pair;
  for (int t = 0; t < frames; t += 2) {
    /* frames t and t + 1 side by side; past the last frame, lane 1 transforms zeros and is dropped */
    const int first = t * s->hop - half;
    if (first >= 0 && first + s->hop + nfft <= n && t + 1 < frames) {
      f64x2 *x = (f64x2 *)a;
      const float *s0 = samples + first, *s1 = s0 + s->hop;
      for (int i = 0; i < nfft; i++) x[i] = (f64x2){(double)s0[i], (double)s1[i]} * s->window[i];
    } else for (int lane = 0; lane < 2; lane++) {
      const int start = (t + lane) * s->hop - half;
      int from = start < 0 ? -start : 0;
      int to = n - start < nfft ? n - start : nfft;
      if (t + lane >= frames) from = to = nfft;
      for (int i = 0; i < from; i++) a[2 * i + lane] = 0;
      for (int i = from; i < to; i++) a[2 * i + lane] = (double)samples[start + i] * s->window[i];
      for (int i = to > from ? to : from; i < nfft; i++) a[2 * i + lane] = 0;
    }
    tk_rdft2(nfft, a, s->ip, s->w);
    /* |X[k]|^2 of both frames at once (rdft's layout per lane: a[0] = X[0], a[1] = X[half], then re, im) */
    const f64x2 *x = (const f64x2 *)a;
    double *p0 = power + (size_t)t * bins;
    double *p1 = t + 1 < frames ? p0 + bins : s->spare;
    const f64x2 dc = x[0] * x[0], nyquist = x[1] * x[1];
    p0[0] = dc[0], p1[0] = dc[1], p0[half] = nyquist[0], p1[half] = nyquist[1];
    for (int k = 1; k < half; k++) {
      const f64x2 pk = x[2 * k] * x[2 * k] + x[2 * k + 1] * x[2 * k + 1];
      p0[k] = pk[0];
      p1[k] = pk[1];
    }
  }
  return frames;
}

/* The mel projection out[m] = sum_k weights[m][k] * power[k], with the filterbank's sparsity: every bin lies under
   at most two adjacent triangles (Slaney filters), so the bins are walked once, in runs of bins that share their
   lower band, with one accumulator for that band and one for the band above. */
typedef struct {
  int mels, bins, runs;
  double *low, *high; /* weight of bin k in its lower band and in the band above */
  int *band, *start, *end;
} mel_t;

/* Build the projection of a float32 filterbank [mels][bins]. Returns 0 when a bin lies under two bands that are
   not adjacent (not a mel filterbank) or memory runs out. */
__attribute__((export_name("tk_mel_new")))
mel_t *tk_mel_new(const float *weights, int mels, int bins) {
  mel_t *p = calloc(1, sizeof(mel_t));
  if (!p) return 0;
  p->mels = mels;
  p->bins = bins;
  p->low = calloc((size_t)bins, sizeof(double));
  p->high = calloc((size_t)bins, sizeof(double));
  p->band = calloc((size_t)bins, sizeof(int));
  p->start = calloc((size_t)bins, sizeof(int));
  p->end = calloc((size_t)bins, sizeof(int));
  if (!p->low || !p->high || !p->band || !p->start || !p->end) return 0;
  for (int k = 0; k < bins; k++) {
    int low = -1;
    for (int m = 0; m < mels; m++) {
      float w = weights[(size_t)m * bins + k];
      if (w == 0) continue;
      if (low == -1) { low = m; p->low[k] = w; }
      else if (m == low + 1) p->high[k] = w;
      else return 0;
    }
    if (low == -1) continue; /* below fmin or above fmax */
    if (p->runs > 0 && p->band[p->runs - 1] == low && p->end[p->runs - 1] == k) p->end[p->runs - 1] = k + 1;
    else { p->band[p->runs] = low; p->start[p->runs] = k; p->end[p->runs] = k + 1; p->runs++; }
  }
  return p;
}

/* Project `frames` power frames (each `bins` doubles) into `out` (frames * mels doubles), two frames at a time
   in the lanes of an f64x2: each lane adds the same products in the same order as one frame alone would. */

__attribute__((export_name("tk_mel_apply")))
void tk_mel_apply(const mel_t *p, const double *power, int frames, double *out) {
  int t = 0;
  for (; t + 1 < frames; t += 2) {
    const double *pw0 = power + (size_t)t * p->bins, *pw1 = pw0 + p->bins;
    double *o0 = out + (size_t)t * p->mels, *o1 = o0 + p->mels;
    memset(o0, 0, sizeof(double) * 2 * (size_t)p->mels);
    for (int r = 0; r < p->runs; r++) {
      f64x2 low = {0, 0}, high = {0, 0};
      for (int k = p->start[r]; k < p->end[r]; k++) {
        const f64x2 pw = {pw0[k], pw1[k]};
        low += p->low[k] * pw;
        high += p->high[k] * pw;
      }
      const int band = p->band[r];
      o0[band] += low[0];
      o1[band] += low[1];
      if (band + 1 < p->mels) { o0[band + 1] += high[0]; o1[band + 1] += high[1]; }
    }
  }
  for (; t < frames; t++) {
    const double *pw = power + (size_t)t * p->bins;
    double *o = out + (size_t)t * p->mels;
    memset(o, 0, sizeof(double) * (size_t)p->mels);
    for (int r = 0; r < p->runs; r++) {
      double low = 0, high = 0;
      for (int k = p->start[r]; k < p->end[r]; k++) { low += p->low[k] * pw[k]; high += p->high[k] * pw[k]; }
      o[p->band[r]] += low;
      if (p->band[r] + 1 < p->mels) o[p->band[r] + 1] += high;
    }
  }
}
