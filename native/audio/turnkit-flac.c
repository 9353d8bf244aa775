/* A FLAC decoder (RFC 9639) for turnkit's in-process decoding: native FLAC streams of 4 to 24 bits, 1 to 8
   channels, every subframe type, both residual codings, every stereo decorrelation, fixed or variable block sizes,
   each frame's CRC-8 and CRC-16 checked. It decodes straight to mono float32 as librosa.load reads a FLAC through
   soundfile: each sample as int / 2^(bits-1) (what libsndfile and ffmpeg give), then the float32 mean of the
   channels, added channel by channel (librosa.to_mono). FLAC is lossless, so the integers are the file's own and
   the floats are bit for bit those of any correct decoder.
   Anything this decoder does not take (no STREAMINFO, an unknown total length, more than 24 bits, a frame whose
   format differs from STREAMINFO, a lost sync, a CRC mismatch, a file that ends early) is an error code, and the
   caller hands the file to ffmpeg, which judges it in its own words. The input is padded with at least 32 zero
   bytes, so the bit reader may look ahead without a bounds test; every read is checked against the true end
   before its result is used. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wasm_simd128.h>

#define TK_FLAC_PADDING 32
#define MAX_CHANNELS 8
#define MAX_BLOCK 65536

enum {
  FLAC_NOT_FLAC = -1,     /* no fLaC marker (after an ID3v2 tag, if any) */
  FLAC_UNSUPPORTED = -2,  /* no STREAMINFO first, > 24 bits, an unknown total length, ... */
  FLAC_BAD_FRAME = -3,    /* lost sync, a reserved code, a frame unlike STREAMINFO */
  FLAC_CRC = -4,          /* a header's CRC-8 or a frame's CRC-16 does not match */
  FLAC_SHORT = -5,        /* the stream ends before STREAMINFO's total length */
  FLAC_NO_MEMORY = -6,
};

typedef struct {
  const uint8_t *buf; /* at least TK_FLAC_PADDING zero bytes follow buf[len - 1] */
  uint64_t pos;       /* in bits */
  uint64_t end;       /* len * 8 */
} bits_t;

/* The 64 bits from pos (at least 57 of them the stream's; the rest zeros). */
static inline uint64_t peek64(const bits_t *b) {
  /* The big-endian load as one shuffle (WebAssembly has no byte swap instruction; a shift-and-mask swap costs ~20). */
  v128_t v = wasm_v128_load64_zero(b->buf + (b->pos >> 3));
  v = wasm_i8x16_shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 8, 9, 10, 11, 12, 13, 14, 15);
  return (uint64_t)wasm_i64x2_extract_lane(v, 0) << (b->pos & 7);
}

/* n bits (0..32) as an unsigned integer. */
static inline uint32_t get_u(bits_t *b, int n) {
  if (n == 0) return 0;
  uint32_t v = (uint32_t)(peek64(b) >> (64 - n));
  b->pos += (unsigned)n;
  return v;
}

/* n bits (0..33) as a two's complement integer. */
static inline int64_t get_s(bits_t *b, int n) {
  if (n == 0) return 0;
  int64_t v = (int64_t)peek64(b) >> (64 - n);
  b->pos += (unsigned)n;
  return v;
}

/* The number of 0 bits before the next 1 (which is consumed); -1 when the stream ends first. */
static inline int64_t get_unary(bits_t *b) {
  int64_t zeros = 0;
  for (;;) {
    uint64_t v = peek64(b);
    if (v != 0) {
      int z = __builtin_clzll(v);
      if (z < 57) {
        b->pos += (unsigned)z + 1;
        return b->pos <= b->end ? zeros + z : -1;
      }
    }
    b->pos += 57;
    zeros += 57;
    if (b->pos > b->end) return -1;
  }
}

static uint8_t crc8_table[256];
/* crc16_table[k][x]: the CRC-16 register after byte x then k zero bytes, so eight bytes are folded in at once. */
static uint16_t crc16_table[8][256];

static void crc_tables(void) {
  if (crc16_table[0][1] != 0) return;
  for (int i = 0; i < 256; i++) {
    uint8_t c8 = (uint8_t)i;
    uint16_t c16 = (uint16_t)(i << 8);
    for (int k = 0; k < 8; k++) {
      c8 = (uint8_t)((c8 & 0x80) ? (c8 << 1) ^ 0x07 : c8 << 1);
      c16 = (uint16_t)((c16 & 0x8000) ? (c16 << 1) ^ 0x8005 : c16 << 1);
    }
    crc8_table[i] = c8;
    crc16_table[0][i] = c16;
  }
  for (int k = 1; k < 8; k++)
    for (int i = 0; i < 256; i++) {
      uint16_t r = crc16_table[k - 1][i];
      crc16_table[k][i] = (uint16_t)((r << 8) ^ crc16_table[0][r >> 8]);
    }
}

static uint8_t crc8(const uint8_t *p, size_t n) {
  uint8_t c = 0;
  while (n--) c = crc8_table[c ^ *p++];
  return c;
}

static uint16_t crc16(const uint8_t *p, size_t n) {
  uint16_t c = 0;
  for (; n >= 8; n -= 8, p += 8) {
    c = (uint16_t)(crc16_table[7][(c >> 8) ^ p[0]] ^ crc16_table[6][(c & 0xff) ^ p[1]] ^ crc16_table[5][p[2]] ^ crc16_table[4][p[3]] ^
                   crc16_table[3][p[4]] ^ crc16_table[2][p[5]] ^ crc16_table[1][p[6]] ^ crc16_table[0][p[7]]);
  }
  while (n--) c = (uint16_t)((c << 8) ^ crc16_table[0][(c >> 8) ^ *p++]);
  return c;
}

typedef struct {
  uint32_t sample_rate, channels, bits, max_block;
  uint64_t total;       /* samples per channel; 0 = unknown */
  uint64_t first_frame; /* byte offset of the first frame */
} stream_t;

/* The STREAMINFO of the stream in buf[0..len), after an ID3v2 tag if one leads. */
static int read_header(const uint8_t *buf, uint64_t len, stream_t *s) {
  uint64_t at = 0;
  if (len >= 10 && buf[0] == 'I' && buf[1] == 'D' && buf[2] == '3') {
    /* ID3v2: a 10-byte header whose last four bytes are a 28-bit "syncsafe" size, plus a footer if flagged. */
    uint64_t size = ((uint64_t)(buf[6] & 0x7f) << 21) | ((uint64_t)(buf[7] & 0x7f) << 14) | ((uint64_t)(buf[8] & 0x7f) << 7) | (buf[9] & 0x7f);
    at = 10 + size + ((buf[5] & 0x10) ? 10 : 0);
  }
  if (at + 4 > len || memcmp(buf + at, "fLaC", 4) != 0) return FLAC_NOT_FLAC;
  at += 4;
  int first = 1, last = 0;
  while (!last) {
    if (at + 4 > len) return FLAC_SHORT;
    last = buf[at] >> 7;
    uint32_t type = buf[at] & 0x7f;
    uint64_t size = ((uint64_t)buf[at + 1] << 16) | ((uint64_t)buf[at + 2] << 8) | buf[at + 3];
    at += 4;
    if (at + size > len) return FLAC_SHORT;
    if (first) {
      if (type != 0 || size < 34) return FLAC_UNSUPPORTED;
      const uint8_t *p = buf + at;
      uint32_t min_block = ((uint32_t)p[0] << 8) | p[1];
      s->max_block = ((uint32_t)p[2] << 8) | p[3];
      s->sample_rate = ((uint32_t)p[10] << 12) | ((uint32_t)p[11] << 4) | (p[12] >> 4);
      s->channels = ((p[12] >> 1) & 7) + 1;
      s->bits = (((uint32_t)(p[12] & 1) << 4) | (p[13] >> 4)) + 1;
      s->total = ((uint64_t)(p[13] & 0x0f) << 32) | ((uint64_t)p[14] << 24) | ((uint64_t)p[15] << 16) | ((uint64_t)p[16] << 8) | p[17];
      if (min_block < 16 || s->max_block < min_block || s->sample_rate == 0 || s->bits < 4 || s->bits > 24 || s->total == 0) return FLAC_UNSUPPORTED;
    } else if (type == 0 || type == 127) {
      return FLAC_UNSUPPORTED; /* a second STREAMINFO, or the forbidden type */
    }
    first = 0;
    at += size;
  }
  s->first_frame = at;
  return 0;
}

/* One partitioned Rice residual of `count` = block - order samples into res. */
static int read_residual(bits_t *b, uint32_t block, uint32_t order, int32_t *res) {
  uint32_t method = get_u(b, 2);
  if (method > 1) return FLAC_BAD_FRAME;
  int param_bits = method == 0 ? 4 : 5;
  uint32_t escape = method == 0 ? 15 : 31;
  uint32_t partitions = 1u << get_u(b, 4);
  if (block % partitions != 0 || block / partitions < order) return FLAC_BAD_FRAME;
  uint32_t n = 0;
  for (uint32_t p = 0; p < partitions; p++) {
    uint32_t count = block / partitions - (p == 0 ? order : 0);
    uint32_t k = get_u(b, param_bits);
    if (b->pos > b->end) return FLAC_SHORT;
    if (k == escape) {
      int raw = (int)get_u(b, 5);
      if (b->pos + (uint64_t)count * (unsigned)raw > b->end) return FLAC_SHORT;
      for (uint32_t i = 0; i < count; i++) res[n++] = (int32_t)get_s(b, raw);
      continue;
    }
    /* k low bits after the quotient's zeros and its 1: (v << (z + 1)) >> (64 - k), written to give 0 for k = 0. */
    const uint32_t drop = 63 - k;
    for (uint32_t i = 0; i < count; i++) {
      uint64_t v = peek64(b);
      uint32_t z = v != 0 ? (uint32_t)__builtin_clzll(v) : 64;
      uint32_t used = z + 1 + k;
      if (used > 57) {
        int64_t q = get_unary(b);
        if (q < 0) return FLAC_SHORT;
        uint64_t u = ((uint64_t)q << k) | get_u(b, (int)k);
        res[n++] = (int32_t)((u >> 1) ^ (0 - (u & 1)));
        continue;
      }
      /* The common case: the quotient's zeros, its 1 and the k low bits all in the 57 bits peeked; and then the
         next sample too, when it fits in what is left of them. */
      uint64_t u = ((uint64_t)z << k) | (((v << (z + 1)) >> 1) >> drop);
      res[n++] = (int32_t)((u >> 1) ^ (0 - (u & 1)));
      b->pos += used;
      if (i + 1 == count || b->pos > b->end) break;
      uint64_t w = v << used;
      uint32_t z2 = w != 0 ? (uint32_t)__builtin_clzll(w) : 64;
      uint32_t used2 = z2 + 1 + k;
      if (used + used2 > 57) continue;
      uint64_t u2 = ((uint64_t)z2 << k) | (((w << (z2 + 1)) >> 1) >> drop);
      res[n++] = (int32_t)((u2 >> 1) ^ (0 - (u2 & 1)));
      b->pos += used2;
      i++;
      /* Past the end the reader sees the padding's zeros, then whatever memory follows: stop there. */
      if (b->pos > b->end) return FLAC_SHORT;
    }
    if (b->pos > b->end) return FLAC_SHORT;
  }
  return 0;
}

/* Sample i += (sum_j coef[j] * sample[i - 1 - j]) >> shift, in 64 bits (24-bit samples, 15-bit coefficients).
   Orders up to 12 (every order ffmpeg's and libFLAC's presets choose) keep the coefficients and the last samples in
   locals, so each sample waits only for its predecessor's product, not for a store and a reload. (A sample of a
   valid stream fits its 25 bits, so the 64-bit history holds what was stored.) */
#define H(k) int64_t h##k = out[order - 1 - (k)], c##k = coef[k];
#define P(k) + c##k * h##k
#define LPC_ORDER(N, HIST, SUM, SHIFT_WINDOW)            \
  case N: {                                              \
    HIST                                                 \
    for (uint32_t i = N; i < block; i++) {               \
      int64_t v = out[i] + ((0 SUM) >> shift);           \
      out[i] = (int32_t)v;                               \
      SHIFT_WINDOW                                       \
      h0 = v;                                            \
    }                                                    \
    break;                                               \
  }
static void lpc_restore(int32_t *out, uint32_t block, uint32_t order, const int32_t *coef, int shift) {
  switch (order) {
    LPC_ORDER(1, H(0), P(0), )
    LPC_ORDER(2, H(0) H(1), P(0) P(1), h1 = h0;)
    LPC_ORDER(3, H(0) H(1) H(2), P(0) P(1) P(2), h2 = h1; h1 = h0;)
    LPC_ORDER(4, H(0) H(1) H(2) H(3), P(0) P(1) P(2) P(3), h3 = h2; h2 = h1; h1 = h0;)
    LPC_ORDER(5, H(0) H(1) H(2) H(3) H(4), P(0) P(1) P(2) P(3) P(4), h4 = h3; h3 = h2; h2 = h1; h1 = h0;)
    LPC_ORDER(6, H(0) H(1) H(2) H(3) H(4) H(5), P(0) P(1) P(2) P(3) P(4) P(5), h5 = h4; h4 = h3; h3 = h2; h2 = h1; h1 = h0;)
    LPC_ORDER(7, H(0) H(1) H(2) H(3) H(4) H(5) H(6), P(0) P(1) P(2) P(3) P(4) P(5) P(6),
              h6 = h5; h5 = h4; h4 = h3; h3 = h2; h2 = h1; h1 = h0;)
    LPC_ORDER(8, H(0) H(1) H(2) H(3) H(4) H(5) H(6) H(7), P(0) P(1) P(2) P(3) P(4) P(5) P(6) P(7),
              h7 = h6; h6 = h5; h5 = h4; h4 = h3; h3 = h2; h2 = h1; h1 = h0;)
    LPC_ORDER(9, H(0) H(1) H(2) H(3) H(4) H(5) H(6) H(7) H(8), P(0) P(1) P(2) P(3) P(4) P(5) P(6) P(7) P(8),
              h8 = h7; h7 = h6; h6 = h5; h5 = h4; h4 = h3; h3 = h2; h2 = h1; h1 = h0;)
    LPC_ORDER(10, H(0) H(1) H(2) H(3) H(4) H(5) H(6) H(7) H(8) H(9), P(0) P(1) P(2) P(3) P(4) P(5) P(6) P(7) P(8) P(9),
              h9 = h8; h8 = h7; h7 = h6; h6 = h5; h5 = h4; h4 = h3; h3 = h2; h2 = h1; h1 = h0;)
    LPC_ORDER(11, H(0) H(1) H(2) H(3) H(4) H(5) H(6) H(7) H(8) H(9) H(10),
              P(0) P(1) P(2) P(3) P(4) P(5) P(6) P(7) P(8) P(9) P(10),
              h10 = h9; h9 = h8; h8 = h7; h7 = h6; h6 = h5; h5 = h4; h4 = h3; h3 = h2; h2 = h1; h1 = h0;)
    LPC_ORDER(12, H(0) H(1) H(2) H(3) H(4) H(5) H(6) H(7) H(8) H(9) H(10) H(11),
              P(0) P(1) P(2) P(3) P(4) P(5) P(6) P(7) P(8) P(9) P(10) P(11),
              h11 = h10; h10 = h9; h9 = h8; h8 = h7; h7 = h6; h6 = h5; h5 = h4; h4 = h3; h3 = h2; h2 = h1; h1 = h0;)
    default:
      for (uint32_t i = order; i < block; i++) {
        int64_t sum = 0;
        for (uint32_t j = 0; j < order; j++) sum += (int64_t)coef[j] * out[i - 1 - j];
        out[i] += (int32_t)(sum >> shift);
      }
  }
}
#undef H
#undef P
#undef LPC_ORDER

/* One subframe of `block` samples of `bits` bits (one more for a side channel) into out. */
static int read_subframe(bits_t *b, uint32_t block, int bits, int32_t *out) {
  if (get_u(b, 1) != 0) return FLAC_BAD_FRAME;
  uint32_t type = get_u(b, 6);
  int wasted = 0;
  if (get_u(b, 1)) {
    int64_t k = get_unary(b);
    if (k < 0) return FLAC_SHORT;
    wasted = (int)k + 1;
    if (wasted >= bits) return FLAC_BAD_FRAME;
    bits -= wasted;
  }
  if (type == 0) {
    int32_t v = (int32_t)get_s(b, bits);
    for (uint32_t i = 0; i < block; i++) out[i] = v;
  } else if (type == 1) {
    if (b->pos + (uint64_t)block * (unsigned)bits > b->end) return FLAC_SHORT;
    for (uint32_t i = 0; i < block; i++) out[i] = (int32_t)get_s(b, bits);
  } else if (type >= 8 && type <= 12) {
    uint32_t order = type - 8;
    if (order > block) return FLAC_BAD_FRAME;
    if (b->pos + (uint64_t)order * (unsigned)bits > b->end) return FLAC_SHORT;
    for (uint32_t i = 0; i < order; i++) out[i] = (int32_t)get_s(b, bits);
    int err = read_residual(b, block, order, out + order);
    if (err) return err;
    /* Each residual already sits where its sample goes: add the prediction from the samples before it. */
    switch (order) {
      case 1: for (uint32_t i = 1; i < block; i++) out[i] += out[i - 1]; break;
      case 2: for (uint32_t i = 2; i < block; i++) out[i] += 2 * out[i - 1] - out[i - 2]; break;
      case 3: for (uint32_t i = 3; i < block; i++) out[i] += 3 * out[i - 1] - 3 * out[i - 2] + out[i - 3]; break;
      case 4: for (uint32_t i = 4; i < block; i++) out[i] += 4 * out[i - 1] - 6 * out[i - 2] + 4 * out[i - 3] - out[i - 4]; break;
      default: break;
    }
  } else if (type >= 32) {
    uint32_t order = type - 31;
    if (order > block) return FLAC_BAD_FRAME;
    if (b->pos + (uint64_t)order * (unsigned)bits > b->end) return FLAC_SHORT;
    for (uint32_t i = 0; i < order; i++) out[i] = (int32_t)get_s(b, bits);
    int precision = (int)get_u(b, 4) + 1;
    if (precision == 16) return FLAC_BAD_FRAME;
    int shift = (int)get_s(b, 5);
    if (shift < 0) return FLAC_BAD_FRAME;
    if (b->pos + (uint64_t)order * (unsigned)precision > b->end) return FLAC_SHORT;
    int32_t coef[32];
    for (uint32_t j = 0; j < order; j++) coef[j] = (int32_t)get_s(b, precision);
    int err = read_residual(b, block, order, out + order);
    if (err) return err;
    lpc_restore(out, block, order, coef, shift);
  } else {
    return FLAC_BAD_FRAME; /* reserved subframe type */
  }
  if (b->pos > b->end) return FLAC_SHORT;
  if (wasted)
    for (uint32_t i = 0; i < block; i++) out[i] = (int32_t)((uint32_t)out[i] << wasted);
  return 0;
}

static const uint32_t RATES[12] = {0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000};
static const int SIZES[8] = {0, 8, 12, -1, 16, 20, 24, 32};

/* The frame at b->pos (byte-aligned) into ch[c][0..*block). */
static int read_frame(bits_t *b, const stream_t *s, int32_t **ch, uint32_t *block) {
  uint64_t start = b->pos >> 3;
  const uint8_t *p = b->buf + start;
  if (b->pos + 32 > b->end || p[0] != 0xff || (p[1] & 0xfe) != 0xf8) return FLAC_BAD_FRAME;
  uint32_t size_code = p[2] >> 4, rate_code = p[2] & 15, assignment = p[3] >> 4, bits_code = (p[3] >> 1) & 7;
  if (size_code == 0 || rate_code == 15 || assignment > 10 || bits_code == 3 || (p[3] & 1)) return FLAC_BAD_FRAME;
  b->pos += 32;
  /* The frame or sample number, coded as UTF-8 is (up to 7 bytes); only its length matters here. */
  uint32_t lead = get_u(b, 8), extra = 0;
  while (extra < 7 && (lead & (0x80u >> extra))) extra++;
  if (extra == 1 || lead == 0xff) return FLAC_BAD_FRAME;
  for (uint32_t i = 1; i < extra; i++)
    if ((get_u(b, 8) & 0xc0) != 0x80) return FLAC_BAD_FRAME;
  uint32_t n = size_code == 1 ? 192 : size_code <= 5 ? 576u << (size_code - 2) : size_code == 6 ? get_u(b, 8) + 1 : size_code == 7 ? get_u(b, 16) + 1 : 256u << (size_code - 8);
  uint32_t rate = rate_code == 0 ? s->sample_rate : rate_code <= 11 ? RATES[rate_code] : rate_code == 12 ? get_u(b, 8) * 1000 : rate_code == 13 ? get_u(b, 16) : get_u(b, 16) * 10;
  uint32_t header_bytes = (uint32_t)((b->pos >> 3) - start);
  if (b->pos + 8 > b->end) return FLAC_SHORT;
  if (get_u(b, 8) != crc8(p, header_bytes)) return FLAC_CRC;
  uint32_t channels = assignment < 8 ? assignment + 1 : 2;
  int bits = bits_code == 0 ? (int)s->bits : SIZES[bits_code];
  if (rate != s->sample_rate || channels != s->channels || bits != (int)s->bits || n > s->max_block || n > MAX_BLOCK) return FLAC_BAD_FRAME;
  for (uint32_t c = 0; c < channels; c++) {
    int side = (assignment == 8 && c == 1) || (assignment == 9 && c == 0) || (assignment == 10 && c == 1);
    int err = read_subframe(b, n, bits + side, ch[c]);
    if (err) return err;
  }
  b->pos = (b->pos + 7) & ~(uint64_t)7;
  if (b->pos + 16 > b->end) return FLAC_SHORT;
  uint32_t frame_bytes = (uint32_t)((b->pos >> 3) - start);
  if (get_u(b, 16) != crc16(p, frame_bytes)) return FLAC_CRC;
  int32_t *l = ch[0], *r = ch[1];
  if (assignment == 8) /* left, side */
    for (uint32_t i = 0; i < n; i++) r[i] = l[i] - r[i];
  else if (assignment == 9) /* side, right */
    for (uint32_t i = 0; i < n; i++) l[i] += r[i];
  else if (assignment == 10) /* mid, side */
    for (uint32_t i = 0; i < n; i++) {
      int32_t side = r[i], mid = (int32_t)(((uint32_t)l[i] << 1) | (uint32_t)(side & 1));
      l[i] = (mid + side) >> 1;
      r[i] = (mid - side) >> 1;
    }
  *block = n;
  return 0;
}

/* The stream's format: info[0] sample rate, [1] channels, [2] bits per sample, [3] and [4] the total samples per
   channel (low and high 32 bits). Returns 0, or an error code. */
__attribute__((export_name("tk_flac_info")))
int tk_flac_info(const uint8_t *buf, uint32_t len, uint32_t *info) {
  stream_t s;
  int err = read_header(buf, len, &s);
  if (err) return err;
  info[0] = s.sample_rate;
  info[1] = s.channels;
  info[2] = s.bits;
  info[3] = (uint32_t)s.total;
  info[4] = (uint32_t)(s.total >> 32);
  return 0;
}

/* Decode the first `frames` samples per channel (at most the stream's total) of buf[0..len) (followed by
   TK_FLAC_PADDING zero bytes) to mono float32 in out. Returns the samples written (`frames`, or the total when
   that is less), or an error code. */
__attribute__((export_name("tk_flac_decode")))
int tk_flac_decode(const uint8_t *buf, uint32_t len, uint32_t frames, float *out) {
  stream_t s;
  int err = read_header(buf, len, &s);
  if (err) return err;
  crc_tables();
  uint64_t want = frames < s.total ? frames : s.total;
  int32_t *ch[MAX_CHANNELS];
  int32_t *block_buffer = malloc((size_t)s.channels * MAX_BLOCK * sizeof(int32_t));
  if (block_buffer == NULL) return FLAC_NO_MEMORY;
  for (uint32_t c = 0; c < s.channels; c++) ch[c] = block_buffer + (size_t)c * MAX_BLOCK;
  bits_t b = {buf, s.first_frame * 8, (uint64_t)len * 8};
  const float scale = 1.0f / (float)(1u << (s.bits - 1));
  const float channels = (float)s.channels;
  uint64_t done = 0;
  while (done < want) {
    uint32_t n = 0;
    err = read_frame(&b, &s, ch, &n);
    if (err) break;
    uint32_t take = (uint32_t)(want - done < n ? want - done : n);
    float *o = out + done;
    if (s.channels == 1) {
      for (uint32_t i = 0; i < take; i++) o[i] = (float)ch[0][i] * scale;
    } else if (s.channels == 2) {
      /* The same operations as below, in a loop the compiler turns into SIMD. */
      const int32_t *l = ch[0], *r = ch[1];
      for (uint32_t i = 0; i < take; i++) o[i] = ((float)l[i] * scale + (float)r[i] * scale) / 2.0f;
    } else {
      /* numpy's mean over the channel axis: float32 sums channel by channel, then one float32 division. */
      for (uint32_t i = 0; i < take; i++) {
        float sum = (float)ch[0][i] * scale;
        for (uint32_t c = 1; c < s.channels; c++) sum += (float)ch[c][i] * scale;
        o[i] = sum / channels;
      }
    }
    done += take;
  }
  free(block_buffer);
  if (err) return err == FLAC_BAD_FRAME && b.pos >= b.end ? FLAC_SHORT : err;
  return (int)done;
}
