/* turnkit's matrix product and transpose for TensorFlow.js's wasm backend. The backend runs a product with a
   transposed operand (every matMul gradient) or a batch of them (the attention products of every head, [B, L, L] x
   [B, L, d]) on a scalar loop at 8-30 GFLOP/s, and one plain matrix on XNNPACK at about 45; this product runs all of
   them at about 60 on one core (docs/tfjs.md). This module runs inside the backend's own memory (it imports it), so
   it reads the operands and writes the product in place: it has no data, no stack, no allocation; scratch space for
   packed operands comes from the caller (allocated with the backend's malloc).

   C[b] = op(A[b]) op(B[b]) with op = transpose when asked, A [batchA, m, k] (or [batchA, k, m]), B [batchB, k, n]
   (or [batchB, n, k]), C [batch, m, n]; batchA or batchB may be 1 (broadcast). Every C[i][j] is its k products
   added in order, p = 0 .. k-1, from zero, in float32 without fused multiply-add: the order XNNPACK's f32 GEMM
   uses, so a plain product is bit-identical to the one the backend computed before, and every machine computes the
   same bits (fused multiply-add, relaxed SIMD, would be machine-dependent and is no faster here). */
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

/* Four vectors of four 4-byte values, rows of a 4 x 4 tile, turned into its columns in place (only bits move). */
static inline void transpose4(v128_t x[4]) {
  const v128_t l0 = wasm_i32x4_shuffle(x[0], x[1], 0, 4, 1, 5), h0 = wasm_i32x4_shuffle(x[0], x[1], 2, 6, 3, 7);
  const v128_t l1 = wasm_i32x4_shuffle(x[2], x[3], 0, 4, 1, 5), h1 = wasm_i32x4_shuffle(x[2], x[3], 2, 6, 3, 7);
  x[0] = wasm_i64x2_shuffle(l0, l1, 0, 2);
  x[1] = wasm_i64x2_shuffle(l0, l1, 1, 3);
  x[2] = wasm_i64x2_shuffle(h0, h1, 0, 2);
  x[3] = wasm_i64x2_shuffle(h0, h1, 1, 3);
}

/* Copies `len` 4-byte values from `from` to `to` (they do not overlap). */
static inline void copy_run(const float *from, float *to, int len) {
  int e = 0;
  for (; e + 4 <= len; e += 4) wasm_v128_store(to + e, wasm_v128_load(from + e));
  for (; e < len; e++) to[e] = from[e];
}

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
          v128_t x[4] = {wasm_v128_load(i0 + c), wasm_v128_load(i1 + c), wasm_v128_load(i2 + c), wasm_v128_load(i3 + c)};
          transpose4(x);
          float *o = out + (size_t)c * rows + r;
          for (int q = 0; q < 4; q++) wasm_v128_store(o + q * (size_t)rows, x[q]);
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
        copy_run(from, to, inner);
      }
  }
}

/* The 8 columns j .. j+7 of B, b(p, q) = b[p * brs + q * bcs], as one contiguous k x 8 panel (columns past n
   are zeros): the inner loop then reads B at consecutive addresses whatever its layout. */
static void pack_panel(const float *b, int brs, int bcs, float *out, int k, int j, int n) {
  if (bcs == 1 && j + 8 <= n) {
    for (int p = 0; p < k; p++) {
      const float *from = b + (size_t)p * brs + j;
      wasm_v128_store(out + 8 * p, wasm_v128_load(from));
      wasm_v128_store(out + 8 * p + 4, wasm_v128_load(from + 4));
    }
    return;
  }
  for (int p = 0; p < k; p++)
    for (int q = 0; q < 8; q++) out[8 * p + q] = j + q < n ? b[(size_t)p * brs + (size_t)(j + q) * bcs] : 0.f;
}

/* Rows i0 .. i1-1 of A transposed (a(i, p) = a[p * m + i]) as blocks of 4 rows, out[(i - i0) * k + 4p + i % 4]
   for whole blocks: read in place, the four rows of a block sit m floats apart for every p, and at m = 1024 those
   strides collide in the cache. */
static void pack_rows(const float *a, int m, int k, int i0, int i1, float *out) {
  for (int i = i0; i + 4 <= i1; i += 4)
    for (int p = 0; p < k; p++) wasm_v128_store(out + (size_t)(i - i0) * k + 4 * p, wasm_v128_load(a + (size_t)p * m + i));
}

/* The first `left` of 4 values at `to` (all 4 when left >= 4; none when left <= 0). */
static inline void store_part(float *to, v128_t v, int left) {
  if (left >= 4) { wasm_v128_store(to, v); return; }
  if (left > 0) to[0] = wasm_f32x4_extract_lane(v, 0);
  if (left > 1) to[1] = wasm_f32x4_extract_lane(v, 1);
  if (left > 2) to[2] = wasm_f32x4_extract_lane(v, 2);
}

#define STEP(acc, x, y) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(x, y))

/* Rows i .. i+3 of C against one panel: a(i + r, p) = a0[r * rs + p * ps]; 8 accumulators in registers. */
static void rows4(const float *a0, int rs, int ps, const float *panel, int k, float *c, int n, int left) {
  const v128_t zero = wasm_f32x4_splat(0);
  v128_t c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
  const float *a1 = a0 + rs, *a2 = a1 + rs, *a3 = a2 + rs;
  for (int p = 0; p < k; p++) {
    const v128_t b0 = wasm_v128_load(panel + 8 * p), b1 = wasm_v128_load(panel + 8 * p + 4);
    v128_t x = wasm_v128_load32_splat(a0 + (size_t)p * ps);
    STEP(c00, x, b0); STEP(c01, x, b1);
    x = wasm_v128_load32_splat(a1 + (size_t)p * ps);
    STEP(c10, x, b0); STEP(c11, x, b1);
    x = wasm_v128_load32_splat(a2 + (size_t)p * ps);
    STEP(c20, x, b0); STEP(c21, x, b1);
    x = wasm_v128_load32_splat(a3 + (size_t)p * ps);
    STEP(c30, x, b0); STEP(c31, x, b1);
  }
  store_part(c, c00, left); store_part(c + 4, c01, left - 4); c += n;
  store_part(c, c10, left); store_part(c + 4, c11, left - 4); c += n;
  store_part(c, c20, left); store_part(c + 4, c21, left - 4); c += n;
  store_part(c, c30, left); store_part(c + 4, c31, left - 4);
}

/* One row of C against one panel. */
static void row1(const float *a, int ps, const float *panel, int k, float *c, int left) {
  v128_t lo = wasm_f32x4_splat(0), hi = lo;
  for (int p = 0; p < k; p++) {
    const v128_t x = wasm_v128_load32_splat(a + (size_t)p * ps);
    STEP(lo, x, wasm_v128_load(panel + 8 * p));
    STEP(hi, x, wasm_v128_load(panel + 8 * p + 4));
  }
  store_part(c, lo, left);
  store_part(c + 4, hi, left - 4);
}

/* Rows i0 .. i1-1 of one product C = op(A) op(B), m x k times k x n. scratch: 8k floats for a panel, then
   (i1 - i0) * k for A when trans_a. */
static void product(const float *a, int trans_a, const float *b, int trans_b, float *c, float *scratch, int m, int k, int n, int i0, int i1) {
  float *panel = scratch, *packed = scratch + 8 * (size_t)k;
  if (trans_a) pack_rows(a, m, k, i0, i1, packed);
  const int brs = trans_b ? 1 : n, bcs = trans_b ? k : 1;
  for (int j = 0; j < n; j += 8) {
    pack_panel(b, brs, bcs, panel, k, j, n);
    int i = i0;
    for (; i + 4 <= i1; i += 4) {
      if (trans_a) rows4(packed + (size_t)(i - i0) * k, 1, 4, panel, k, c + (size_t)i * n + j, n, n - j);
      else rows4(a + (size_t)i * k, k, 1, panel, k, c + (size_t)i * n + j, n, n - j);
    }
    for (; i < i1; i++) {
      if (trans_a) row1(a + i, m, panel, k, c + (size_t)i * n + j, n - j);
      else row1(a + (size_t)i * k, 1, panel, k, c + (size_t)i * n + j, n - j);
    }
  }
}

/* Rows i0 .. i1-1 of every product (two threads each take a share of the rows; the bits do not depend on the
   share). scratch: room for 8k floats, plus (i1 - i0) * k when trans_a (see product). */
__attribute__((export_name("tk_bmm")))
void tk_bmm(const float *a, const float *b, float *c, float *scratch, int batch, int batch_a, int batch_b,
            int m, int k, int n, int trans_a, int trans_b, int i0, int i1) {
  for (int t = 0; t < batch; t++) {
    const float *at = a + (size_t)(batch_a == 1 ? 0 : t) * m * k;
    const float *bt = b + (size_t)(batch_b == 1 ? 0 : t) * k * n;
    product(at, trans_a, bt, trans_b, c + (size_t)t * m * n, scratch, m, k, n, i0, i1);
  }
}

/* out[o][i] = the sum of in[o][r][i] over r = 0 .. reduce-1, added in that order from zero: the order the backend's
   Sum uses after it has transposed the reduced axes innermost, so the bits are the same, without the transpose
   (a [36864, 64] -> [64] sum took 26 ms there, most of it that transpose). With inner > 1 the sums run across i,
   four at a time, a row of `in` at a time (the output row stays in the cache); with inner == 1 four rows o are
   summed at once, their values brought into the four lanes by a 4 x 4 transpose in registers. */
__attribute__((export_name("tk_sum")))
void tk_sum(const float *in, float *out, int outer, int reduce, int inner) {
  if (inner == 1) {
    int o = 0;
    for (; o + 4 <= outer; o += 4) {
      const float *i0 = in + (size_t)o * reduce, *i1 = i0 + reduce, *i2 = i1 + reduce, *i3 = i2 + reduce;
      v128_t acc = wasm_f32x4_splat(0);
      int r = 0;
      for (; r + 4 <= reduce; r += 4) {
        v128_t x[4] = {wasm_v128_load(i0 + r), wasm_v128_load(i1 + r), wasm_v128_load(i2 + r), wasm_v128_load(i3 + r)};
        transpose4(x);
        for (int q = 0; q < 4; q++) acc = wasm_f32x4_add(acc, x[q]); /* r, r+1, r+2, r+3: in order */
      }
      for (; r < reduce; r++) acc = wasm_f32x4_add(acc, wasm_f32x4_make(i0[r], i1[r], i2[r], i3[r]));
      wasm_v128_store(out + o, acc);
    }
    for (; o < outer; o++) {
      const float *row = in + (size_t)o * reduce;
      float sum = 0.f;
      for (int r = 0; r < reduce; r++) sum += row[r];
      out[o] = sum;
    }
    return;
  }
  for (int o = 0; o < outer; o++) {
    const float *plane = in + (size_t)o * reduce * inner;
    float *to = out + (size_t)o * inner;
    int i = 0;
    for (; i + 4 <= inner; i += 4) wasm_v128_store(to + i, wasm_f32x4_splat(0));
    for (; i < inner; i++) to[i] = 0.f;
    for (int r = 0; r < reduce; r++) {
      const float *row = plane + (size_t)r * inner;
      i = 0;
      for (; i + 16 <= inner; i += 16) {
        wasm_v128_store(to + i, wasm_f32x4_add(wasm_v128_load(to + i), wasm_v128_load(row + i)));
        wasm_v128_store(to + i + 4, wasm_f32x4_add(wasm_v128_load(to + i + 4), wasm_v128_load(row + i + 4)));
        wasm_v128_store(to + i + 8, wasm_f32x4_add(wasm_v128_load(to + i + 8), wasm_v128_load(row + i + 8)));
        wasm_v128_store(to + i + 12, wasm_f32x4_add(wasm_v128_load(to + i + 12), wasm_v128_load(row + i + 12)));
      }
      for (; i + 4 <= inner; i += 4) wasm_v128_store(to + i, wasm_f32x4_add(wasm_v128_load(to + i), wasm_v128_load(row + i)));
      for (; i < inner; i++) to[i] += row[i];
    }
  }
}

/* A slice as runs: out, contiguous, is the n0 x n1 x n2 runs of `len` values that start at
   in + i0 * s0 + i1 * s1 + i2 * s2 (strides in values). Only moves bits, so any 4-byte type. */
__attribute__((export_name("tk_slice")))
void tk_slice(const float *in, float *out, int n0, int n1, int n2, int s0, int s1, int s2, int len) {
  for (int i0 = 0; i0 < n0; i0++)
    for (int i1 = 0; i1 < n1; i1++)
      for (int i2 = 0; i2 < n2; i2++) {
        copy_run(in + (size_t)i0 * s0 + (size_t)i1 * s1 + (size_t)i2 * s2, out, len);
        out += len;
      }
}

/* out[o][i][r] = x[o][index[i]][r] for x [outer, dim, row] and `count` indices (checked by the caller to lie in
   0 .. dim-1). Only moves bits, so any 4-byte type. */
__attribute__((export_name("tk_gather")))
void tk_gather(const float *x, const int *index, float *out, int outer, int dim, int count, int row) {
  for (int o = 0; o < outer; o++)
    for (int i = 0; i < count; i++) {
      copy_run(x + ((size_t)o * dim + index[i]) * row, out, row);
      out += row;
    }
}

/* The sum of g[i]^2 over i, each square rounded, added in order from zero: tf.sum(tf.square(g)) on the backend
   (its Square is x * x, its Sum adds in order), one call instead of two kernels and a tensor between them. */
__attribute__((export_name("tk_sum_squares")))
float tk_sum_squares(const float *g, int n) {
  float sum = 0.f;
  for (int i = 0; i < n; i++) sum += g[i] * g[i];
  return sum;
}

/* One AdamW update of n values, every operation rounded to float32 in the order src/train/optimizer.ts writes it
   with tensors (so the bits are the same): g = grad (times scale when clipped); m' = m b1 + g (1 - b1);
   v' = v b2 + g^2 (1 - b2); u = (m' / c1) / (sqrt(v' / c2) + eps); p' = p - (u + p wd) lr. */
__attribute__((export_name("tk_adamw")))
void tk_adamw(const float *p, const float *m, const float *v, const float *grad, float *p_out, float *m_out, float *v_out,
              int n, int scaled, float scale, float b1, float one_minus_b1, float b2, float one_minus_b2, float c1,
              float c2, float eps, float wd, float lr) {
  for (int i = 0; i < n; i++) {
    const float g = scaled ? grad[i] * scale : grad[i];
    const float mi = m[i] * b1 + g * one_minus_b1;
    const float vi = v[i] * b2 + (g * g) * one_minus_b2;
    const float u = (mi / c1) / (__builtin_sqrtf(vi / c2) + eps);
    p_out[i] = p[i] - (u + p[i] * wd) * lr;
    m_out[i] = mi;
    v_out[i] = vi;
  }
}
