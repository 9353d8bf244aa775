/* turnkit's STFT power kernel: the centred, zero-padded frames of librosa.stft(center=True, pad_mode='constant'),
   windowed, through Ooura's real FFT (fft4g, double precision, as bundled with libsoxr) and squared: |X[k]|^2 for
   k = 0..nfft/2 of every frame, in double, frame after frame. The window comes from the caller, so its values are
   the caller's bits. */
#include <stdlib.h>
#include <string.h>

/* fft4g.c built inside libsoxr names its rdft _soxr_rdft (aliases.h). */
void _soxr_rdft(int n, int isgn, double *a, int *ip, double *w);

typedef struct {
  int nfft, hop;
  double *window, *frame, *w;
  int *ip;
} stft_t;

__attribute__((export_name("tk_stft_new")))
stft_t *tk_stft_new(int nfft, int hop) {
  stft_t *s = calloc(1, sizeof(stft_t));
  if (!s) return 0;
  s->nfft = nfft;
  s->hop = hop;
  s->window = calloc((size_t)nfft, sizeof(double));
  s->frame = calloc((size_t)nfft + 2, sizeof(double));
  s->w = calloc((size_t)nfft / 2 + 1, sizeof(double));
  s->ip = calloc(2 + 64 + (size_t)nfft / 2, sizeof(int)); /* Ooura needs 2 + sqrt(n / 2); generous */
  if (!s->window || !s->frame || !s->w || !s->ip) return 0;
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
  double *a = s->frame;
  for (int t = 0; t < frames; t++) {
    const int start = t * s->hop - half;
    int from = start < 0 ? -start : 0;
    int to = n - start < nfft ? n - start : nfft;
    if (from > 0 || to < nfft) memset(a, 0, sizeof(double) * (size_t)nfft);
    for (int i = from; i < to; i++) a[i] = (double)samples[start + i] * s->window[i];
    _soxr_rdft(nfft, 1, a, s->ip, s->w);
    double *p = power + (size_t)t * bins;
    p[0] = a[0] * a[0];
    p[half] = a[1] * a[1];
    for (int k = 1; k < half; k++) p[k] = a[2 * k] * a[2 * k] + a[2 * k + 1] * a[2 * k + 1];
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

/* Project `frames` power frames (each `bins` doubles) into `out` (frames * mels doubles). */
__attribute__((export_name("tk_mel_apply")))
void tk_mel_apply(const mel_t *p, const double *power, int frames, double *out) {
  for (int t = 0; t < frames; t++) {
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
