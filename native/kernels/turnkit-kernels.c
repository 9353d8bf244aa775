/* turnkit's batched matrix product for TensorFlow.js's wasm backend, which runs a batched BatchMatMul (the
   attention products of every head, [B, L, L] x [B, L, d]) on a scalar loop several times slower than its
   XNNPACK path for single matrices. This module runs inside the backend's own memory (it imports it), so it reads
   the operands and writes the product in place: it has no data, no stack, no allocation; scratch space for a
   packed operand comes from the caller (allocated with the backend's malloc).

   C[b] = op(A[b]) op(B[b]) with op = transpose when asked, A [batchA, m, k] (or [batchA, k, m]), B [batchB, k, n]
   (or [batchB, n, k]), C [batch, m, n]; batchA or batchB may be 1 (broadcast). The arithmetic is the backend's
   own, to the bit: every C[i][j] is summed over k in tiles of TILE products, each tile's products added in order
   from zero in float32 without fused multiply-add, and the tile sums added to the total in order. */
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

/* tfjs-backend-wasm's BatchMatMul sums k in tiles of 48 (measured: test/model-kernels.test.ts). */
#define TILE 48

/* out[c][r] = in[r][c] for a rows x cols matrix of 4-byte values: blocks of 32 x 32 (they stay in L1), each
   moved as 4 x 4 tiles of SIMD registers; only bits are moved, so any 4-byte type. */
#define BLOCK 32
static void transpose2d(const float *in, float *out, int rows, int cols) {
  for (int r0 = 0; r0 < rows; r0 += BLOCK) {
    const int r1 = r0 + BLOCK < rows ? r0 + BLOCK : rows;
    for (int c0 = 0; c0 < cols; c0 += BLOCK) {
      const int c1 = c0 + BLOCK < cols ? c0 + BLOCK : cols;
      int r = r0;
      for (; r + 4 <= r1; r += 4) {
        const float *i0 = in + (size_t)r * cols, *i1 = i0 + cols, *i2 = i1 + cols, *i3 = i2 + cols;
        int c = c0;
        for (; c + 4 <= c1; c += 4) {
          const v128_t x0 = wasm_v128_load(i0 + c), x1 = wasm_v128_load(i1 + c), x2 = wasm_v128_load(i2 + c), x3 = wasm_v128_load(i3 + c);
          const v128_t l0 = wasm_i32x4_shuffle(x0, x1, 0, 4, 1, 5), h0 = wasm_i32x4_shuffle(x0, x1, 2, 6, 3, 7);
          const v128_t l1 = wasm_i32x4_shuffle(x2, x3, 0, 4, 1, 5), h1 = wasm_i32x4_shuffle(x2, x3, 2, 6, 3, 7);
          float *o = out + (size_t)c * rows + r;
          wasm_v128_store(o, wasm_i64x2_shuffle(l0, l1, 0, 2));
          wasm_v128_store(o + rows, wasm_i64x2_shuffle(l0, l1, 1, 3));
          wasm_v128_store(o + 2 * (size_t)rows, wasm_i64x2_shuffle(h0, h1, 0, 2));
          wasm_v128_store(o + 3 * (size_t)rows, wasm_i64x2_shuffle(h0, h1, 1, 3));
        }
        for (; c < c1; c++) {
          float *o = out + (size_t)c * rows + r;
          o[0] = i0[c], o[1] = i1[c], o[2] = i2[c], o[3] = i3[c];
        }
      }
      for (; r < r1; r++)
        for (int c = c0; c < c1; c++) out[(size_t)c * rows + r] = in[(size_t)r * cols + c];
    }
  }
}

/* B^T stored [n][k] -> scratch [k][n]. */
static void pack_transposed(const float *bt, float *out, int k, int n) { transpose2d(bt, out, n, k); }

/* A transpose every tfjs permutation of up to four dimensions collapses to (see wasm-kernels.ts):
   out[o][c][r][e] = in[o][r][c][e] for o < outer, r < rows, c < cols, e < inner, of 4-byte values. */
__attribute__((export_name("tk_transpose")))
void tk_transpose(const float *in, float *out, int outer, int rows, int cols, int inner) {
  const size_t plane = (size_t)rows * cols * inner;
  for (int o = 0; o < outer; o++) {
    const float *src = in + o * plane;
    float *dst = out + o * plane;
    if (inner == 1) { transpose2d(src, dst, rows, cols); continue; }
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) {
        const float *from = src + ((size_t)r * cols + c) * inner;
        float *to = dst + ((size_t)c * rows + r) * inner;
        int e = 0;
        for (; e + 4 <= inner; e += 4) wasm_v128_store(to + e, wasm_v128_load(from + e));
        for (; e < inner; e++) to[e] = from[e];
      }
  }
}

/* One element: sum over p of a[p * as] * b[p * bs], in tiles as the vector paths. */
static float dot(const float *a, int as, const float *b, int bs, int k) {
  float acc = 0;
  for (int p0 = 0; p0 < k; p0 += TILE) {
    const int p1 = p0 + TILE < k ? p0 + TILE : k;
    float t = 0;
    for (int p = p0; p < p1; p++) t += a[p * as] * b[(size_t)p * bs];
    acc += t;
  }
  return acc;
}

/* One product: a(i, p) = a[i * ars + p * acs] (strides give op(A)), b row-major [k][n], c row-major [m][n]. */
static void product(const float *a, int ars, int acs, const float *b, float *c, int m, int k, int n) {
  const v128_t zero = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const float *a0 = a + (size_t)i * ars, *a1 = a0 + ars, *a2 = a1 + ars, *a3 = a2 + ars;
    int j = 0;
    for (; j + 8 <= n; j += 8) {
      v128_t c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
      for (int p0 = 0; p0 < k; p0 += TILE) {
        const int p1 = p0 + TILE < k ? p0 + TILE : k;
        v128_t t00 = zero, t01 = zero, t10 = zero, t11 = zero, t20 = zero, t21 = zero, t30 = zero, t31 = zero;
        for (int p = p0; p < p1; p++) {
          const float *bp = b + (size_t)p * n + j;
          v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
          v128_t x0 = wasm_f32x4_splat(a0[p * acs]), x1 = wasm_f32x4_splat(a1[p * acs]);
          v128_t x2 = wasm_f32x4_splat(a2[p * acs]), x3 = wasm_f32x4_splat(a3[p * acs]);
          t00 = wasm_f32x4_add(t00, wasm_f32x4_mul(x0, b0)); t01 = wasm_f32x4_add(t01, wasm_f32x4_mul(x0, b1));
          t10 = wasm_f32x4_add(t10, wasm_f32x4_mul(x1, b0)); t11 = wasm_f32x4_add(t11, wasm_f32x4_mul(x1, b1));
          t20 = wasm_f32x4_add(t20, wasm_f32x4_mul(x2, b0)); t21 = wasm_f32x4_add(t21, wasm_f32x4_mul(x2, b1));
          t30 = wasm_f32x4_add(t30, wasm_f32x4_mul(x3, b0)); t31 = wasm_f32x4_add(t31, wasm_f32x4_mul(x3, b1));
        }
        c00 = wasm_f32x4_add(c00, t00); c01 = wasm_f32x4_add(c01, t01); c10 = wasm_f32x4_add(c10, t10); c11 = wasm_f32x4_add(c11, t11);
        c20 = wasm_f32x4_add(c20, t20); c21 = wasm_f32x4_add(c21, t21); c30 = wasm_f32x4_add(c30, t30); c31 = wasm_f32x4_add(c31, t31);
      }
      float *ci = c + (size_t)i * n + j;
      wasm_v128_store(ci, c00); wasm_v128_store(ci + 4, c01); ci += n;
      wasm_v128_store(ci, c10); wasm_v128_store(ci + 4, c11); ci += n;
      wasm_v128_store(ci, c20); wasm_v128_store(ci + 4, c21); ci += n;
      wasm_v128_store(ci, c30); wasm_v128_store(ci + 4, c31);
    }
    for (; j + 4 <= n; j += 4) {
      v128_t c0 = zero, c1 = zero, c2 = zero, c3 = zero;
      for (int p0 = 0; p0 < k; p0 += TILE) {
        const int p1 = p0 + TILE < k ? p0 + TILE : k;
        v128_t t0 = zero, t1 = zero, t2 = zero, t3 = zero;
        for (int p = p0; p < p1; p++) {
          v128_t bv = wasm_v128_load(b + (size_t)p * n + j);
          t0 = wasm_f32x4_add(t0, wasm_f32x4_mul(wasm_f32x4_splat(a0[p * acs]), bv));
          t1 = wasm_f32x4_add(t1, wasm_f32x4_mul(wasm_f32x4_splat(a1[p * acs]), bv));
          t2 = wasm_f32x4_add(t2, wasm_f32x4_mul(wasm_f32x4_splat(a2[p * acs]), bv));
          t3 = wasm_f32x4_add(t3, wasm_f32x4_mul(wasm_f32x4_splat(a3[p * acs]), bv));
        }
        c0 = wasm_f32x4_add(c0, t0); c1 = wasm_f32x4_add(c1, t1); c2 = wasm_f32x4_add(c2, t2); c3 = wasm_f32x4_add(c3, t3);
      }
      float *ci = c + (size_t)i * n + j;
      wasm_v128_store(ci, c0); wasm_v128_store(ci + n, c1); wasm_v128_store(ci + 2 * n, c2); wasm_v128_store(ci + 3 * n, c3);
    }
    for (; j < n; j++)
      for (int r = 0; r < 4; r++) c[(size_t)(i + r) * n + j] = dot(a + (size_t)(i + r) * ars, acs, b + j, n, k);
  }
  for (; i < m; i++) {
    const float *ai = a + (size_t)i * ars;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      v128_t acc = zero;
      for (int p0 = 0; p0 < k; p0 += TILE) {
        const int p1 = p0 + TILE < k ? p0 + TILE : k;
        v128_t t = zero;
        for (int p = p0; p < p1; p++) t = wasm_f32x4_add(t, wasm_f32x4_mul(wasm_f32x4_splat(ai[p * acs]), wasm_v128_load(b + (size_t)p * n + j)));
        acc = wasm_f32x4_add(acc, t);
      }
      wasm_v128_store(c + (size_t)i * n + j, acc);
    }
    for (; j < n; j++) c[(size_t)i * n + j] = dot(ai, acs, b + j, n, k);
  }
}

/* scratch: room for k * n floats when transB (B^T is packed there), else unused. */
__attribute__((export_name("tk_bmm")))
void tk_bmm(const float *a, const float *b, float *c, float *scratch, int batch, int batch_a, int batch_b,
            int m, int k, int n, int trans_a, int trans_b) {
  const int ars = trans_a ? 1 : k, acs = trans_a ? m : 1;
  for (int t = 0; t < batch; t++) {
    const float *at = a + (size_t)(batch_a == 1 ? 0 : t) * m * k;
    const float *bt = b + (size_t)(batch_b == 1 ? 0 : t) * k * n;
    if (trans_b && (t == 0 || batch_b != 1)) pack_transposed(bt, scratch, k, n);
    product(at, ars, acs, trans_b ? scratch : bt, c + (size_t)t * m * n, m, k, n);
  }
}
