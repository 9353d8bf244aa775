/* Ooura's real FFT (libsoxr's fft4g.c, unchanged) compiled a second time with every `double` a pair of doubles
   (one WebAssembly f64x2 vector): one call transforms two frames at once, lane 0 one frame and lane 1 the next.
   Each lane does the scalar code's operations in the scalar code's order (plain IEEE adds and multiplies: the
   target has no fused multiply-add to contract them into, and there is no fast-math), and the cos/sin tables
   are computed per lane by the same libm calls, so each lane's result is bit for bit what _soxr_rdft gives for
   that frame alone. The STFT kernel (turnkit-stft.c) relies on that: pairs change its speed, never its bits.
   C++ only so that fft4g.c's `(double)n` casts and `a[0] = 0` stores work on the pair type unchanged. */
#include <math.h>

namespace {

typedef double f64x2 __attribute__((vector_size(16)));

struct Pair {
  f64x2 v;
  Pair() = default;
  Pair(double x) : v{x, x} {}
  Pair(int x) : v{(double)x, (double)x} {}
  explicit Pair(f64x2 x) : v(x) {}
  Pair &operator+=(Pair o) { v += o.v; return *this; }
  Pair &operator-=(Pair o) { v -= o.v; return *this; }
  Pair &operator*=(Pair o) { v *= o.v; return *this; }
};
static_assert(sizeof(Pair) == 16, "a Pair is two doubles, lane 0 first");

inline Pair operator+(Pair a, Pair b) { return Pair(a.v + b.v); }
inline Pair operator-(Pair a, Pair b) { return Pair(a.v - b.v); }
inline Pair operator*(Pair a, Pair b) { return Pair(a.v * b.v); }
inline Pair operator/(Pair a, Pair b) { return Pair(a.v / b.v); }
inline Pair operator-(Pair a) { return Pair(-a.v); }
inline Pair pairSin(Pair x) { return Pair(f64x2{sin(x.v[0]), sin(x.v[1])}); }
inline Pair pairCos(Pair x) { return Pair(f64x2{cos(x.v[0]), cos(x.v[1])}); }
inline Pair pairAtan(Pair x) { return Pair(f64x2{atan(x.v[0]), atan(x.v[1])}); }

#define double Pair
#define sin(x) pairSin(x)
#define cos(x) pairCos(x)
#define atan(x) pairAtan(x)
#include "fft4g.c"
#undef double
#undef sin
#undef cos
#undef atan

}  // namespace

/* rdft(n, 1, ...) of two interleaved frames: `a` is n pairs (a[2i] frame t, a[2i + 1] frame t + 1), `w` n / 2
   pairs and `ip` 2 + sqrt(n / 2) ints of table space that this function fills on its first call (ip[0] == 0). */
extern "C" void tk_rdft2(int n, double *a, int *ip, double *w) {
  lsx_rdft(n, 1, reinterpret_cast<Pair *>(a), ip, reinterpret_cast<Pair *>(w));
}
