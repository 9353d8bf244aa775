// FLAC decoded in-process (native/audio/turnkit-flac.c through src/audio/flac.ts): every stream ffmpeg's encoder
// writes, and hand-made streams with the codings it never writes (escaped partitions, verbatim and constant
// subframes, 8/12/20-bit samples, variable blocking, wasted bits, every stereo decorrelation), give exactly the
// samples ffmpeg decodes (and, for the hand-made ones, exactly the integers written); damaged streams are refused
// with a reason, never a crash, and the decoder the pipelines use then hands them to ffmpeg as before.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { runFfmpeg } from '../src/fixtures/synth.js'
import { decodeFlac } from '../src/audio/flac.js'
import { createDecoder, decodeWithFfmpeg, resolveDecodeConfig, type DecodeResult } from '../src/audio/decode.js'
import { ffmpegBinary } from '../src/audio/ffmpeg.js'
import { readWav } from '../src/formats/wav.js'

const bitsOf = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength)

/** ffmpeg's decode of `path` as float32 at the file's own rate, mixed to mono as librosa.to_mono (formats/wav.ts). */
async function ffmpegMono(path: string): Promise<Float32Array> {
  const out = `${path}.ffmpeg.wav`
  await runFfmpeg(['-i', path, '-c:a', 'pcm_f32le', '-fflags', '+bitexact', out])
  const wav = readWav(new Uint8Array(await readFile(out)))
  assert.ok(wav.ok, `${path}: ffmpeg's output reads back`)
  return wav.audio.samples
}

const sameResult = (a: DecodeResult, b: DecodeResult, what: string): void => {
  assert.equal(a.ok, b.ok, `${what}: ok`)
  if (a.ok && b.ok) assert.ok(bitsOf(a.samples).equals(bitsOf(b.samples)), `${what}: bit-identical samples`)
  else if (!a.ok && !b.ok) assert.deepEqual([a.code, a.message], [b.code, b.message], what)
}

describe('FLAC in-process', () => {
  let work = ''
  const ffmpeg = ffmpegBinary()
  before(async () => {
    work = await tempDir('flac-')
  })

  it("decodes what ffmpeg's encoder writes bit for bit as ffmpeg decodes it", async () => {
    // Tones with noise (LPC and fixed subframes), silence (constant), white noise (verbatim), 16 and 24 bits,
    // 24-bit containers of 16-bit samples (wasted bits), 1, 2 and 6 channels, every stereo mode, the block-size
    // and sample-rate codes, compression levels 0 to 12 (LPC orders up to 32).
    const signal = '0.5*sin(2*PI*440*t)+0.05*(random(0)-0.5)'
    const cases: { name: string; source: string; args: string[] }[] = [
      { name: 'mono-s16-l5', source: `aevalsrc=${signal}:s=44100:d=1.3`, args: ['-sample_fmt', 's16'] },
      { name: 'mono-s24-l5', source: `aevalsrc=${signal}:s=44100:d=1.3`, args: ['-sample_fmt', 's32'] },
      { name: 'stereo-s24-l0', source: `aevalsrc=${signal}|0.3*sin(2*PI*660*t):s=48000:d=1.1`, args: ['-sample_fmt', 's32', '-compression_level', '0'] },
      { name: 'stereo-s16-l8', source: `aevalsrc=${signal}|0.4*sin(2*PI*440*t+0.1):s=22050:d=2`, args: ['-sample_fmt', 's16', '-compression_level', '8'] },
      { name: 'stereo-s24-l12', source: `aevalsrc=${signal}|${signal}:s=16000:d=1`, args: ['-sample_fmt', 's32', '-compression_level', '12'] },
      { name: 'six-channels', source: `aevalsrc=${Array.from({ length: 6 }, (_, c) => `0.1*sin(2*PI*${200 + 100 * c}*t)`).join('|')}:s=44100:d=0.7`, args: ['-sample_fmt', 's16'] },
      { name: 'silence', source: 'aevalsrc=0|0:s=8000:d=1.5', args: ['-sample_fmt', 's16'] },
      { name: 'white-noise', source: 'aevalsrc=0.99*(random(0)*2-1):s=96000:d=0.5', args: ['-sample_fmt', 's32'] },
      { name: 'wasted-bits', source: `aevalsrc=${signal}:s=44100:d=1,aformat=sample_fmts=s16`, args: ['-sample_fmt', 's32'] },
      ...(['indep', 'left_side', 'right_side', 'mid_side'] as const).map((mode) => ({
        name: `ch-mode-${mode}`,
        source: `aevalsrc=${signal}|0.45*sin(2*PI*440*t+0.2):s=44100:d=1`,
        args: ['-sample_fmt', 's16', '-ch_mode', mode],
      })),
      ...[192, 200, 576, 1000, 4096, 16384].map((size) => ({ name: `block-${size}`, source: `aevalsrc=${signal}:s=44100:d=1`, args: ['-frame_size', String(size)] })),
      ...[12_000, 11_025, 37_800, 88_200, 192_000].map((rate) => ({ name: `rate-${rate}`, source: `aevalsrc=${signal}:s=${rate}:d=0.5`, args: [] })),
    ]
    for (const { name, source, args } of cases) {
      const file = join(work, `${name}.flac`)
      await runFfmpeg(['-f', 'lavfi', '-i', source, '-c:a', 'flac', ...args, file])
      const ours = decodeFlac(new Uint8Array(await readFile(file)))
      assert.ok(ours.ok, `${name}: ${ours.ok ? '' : ours.reason}`)
      const theirs = await ffmpegMono(file)
      assert.equal(ours.audio.samples.length, theirs.length, `${name}: length`)
      assert.ok(bitsOf(ours.audio.samples).equals(bitsOf(theirs)), `${name}: bit-identical to ffmpeg`)
    }
  })

  it('decodes hand-made streams with the codings ffmpeg never writes, to the integers written', async () => {
    for (const stream of handMadeStreams()) {
      const file = join(work, `${stream.name}.flac`)
      await writeFile(file, stream.bytes)
      const ours = decodeFlac(stream.bytes)
      assert.ok(ours.ok, `${stream.name}: ${ours.ok ? '' : ours.reason}`)
      assert.deepEqual([ours.audio.sampleRate, ours.audio.channels, ours.audio.bitsPerSample], [stream.sampleRate, stream.channels.length, stream.bits])
      assert.ok(bitsOf(ours.audio.samples).equals(bitsOf(stream.expected)), `${stream.name}: the integers written, as floats`)
      assert.ok(bitsOf(ours.audio.samples).equals(bitsOf(await ffmpegMono(file))), `${stream.name}: bit-identical to ffmpeg`)
    }
  })

  it('decodes only as far as asked, and a window as the whole file read from its start', async () => {
    const file = join(work, 'window.flac')
    await runFfmpeg(['-f', 'lavfi', '-i', 'aevalsrc=0.5*sin(2*PI*440*t)|0.2*sin(2*PI*300*t):s=44100:d=3', '-c:a', 'flac', file])
    const bytes = new Uint8Array(await readFile(file))
    const whole = decodeFlac(bytes)
    const head = decodeFlac(bytes, (rate) => rate * 1.25)
    assert.ok(whole.ok && head.ok)
    assert.equal(head.audio.frames, 3 * 44_100)
    assert.deepEqual(head.audio.samples, whole.audio.samples.subarray(0, 55_125))
    const decode = createDecoder(resolveDecodeConfig({ sampleRate: 44_100 }), ffmpeg)
    const all = await decode(file)
    const window = await decode(file, { startSeconds: 0.5, durationSeconds: 1 })
    assert.ok(all.ok && window.ok)
    assert.deepEqual(all.samples, whole.audio.samples)
    assert.deepEqual(window.samples, whole.audio.samples.subarray(22_050, 66_150))
  })

  it('refuses damaged streams with a reason, and the pipelines then get what ffmpeg says of them', async () => {
    const good = join(work, 'good.flac')
    await runFfmpeg(['-f', 'lavfi', '-i', 'aevalsrc=0.5*sin(2*PI*440*t)+0.1*(random(0)-0.5):s=44100:d=2', '-c:a', 'flac', good])
    const bytes = new Uint8Array(await readFile(good))
    const frames = bytes.length - 8_000 // well inside the frames, past the metadata
    const damaged: { name: string; bytes: Uint8Array; reason: RegExp }[] = [
      { name: 'cut', bytes: bytes.slice(0, Math.floor(bytes.length / 2)), reason: /ends before/ },
      { name: 'flipped', bytes: bytes.map((b, i) => (i === frames ? b ^ 0x10 : b)), reason: /CRC mismatch|cannot read/ },
      { name: 'no-length', bytes: bytes.map((b, i) => (i >= 8 + 13 && i < 8 + 18 ? (i === 8 + 13 ? b & 0xf0 : 0) : b)), reason: /unknown length/ },
      { name: 'garbage', bytes: new Uint8Array(5000).map((_, i) => (i < 4 ? 'fLaC'.charCodeAt(i) : (i * 7919) % 251)), reason: /does not take|ends before/ },
    ]
    const config = resolveDecodeConfig({})
    const decode = createDecoder(config, ffmpeg)
    for (const { name, bytes: b, reason } of damaged) {
      const result = decodeFlac(b)
      assert.ok(!result.ok, `${name}: refused`)
      assert.match(result.reason, reason, name)
      const file = join(work, `${name}.flac`)
      await writeFile(file, b)
      sameResult(await decode(file), await decodeWithFfmpeg(file, config, ffmpeg), name)
    }
    // Whatever byte is damaged, and wherever the file is cut, the decoder answers (samples, or a reason) and
    // never runs past the end: a cut file is refused as one that ends early.
    for (let i = 0; i < 300; i++) {
      const at = (i * 7_919) % bytes.length
      const result = decodeFlac(bytes.map((b, j) => (j === at ? b ^ (1 << i % 8) : b)))
      assert.ok(result.ok || !/decoder failed/.test(result.reason), result.ok ? '' : result.reason)
    }
    for (let i = 1; i < 100; i++) {
      const result = decodeFlac(bytes.subarray(0, Math.floor((i * bytes.length) / 100)))
      assert.ok(!result.ok && /ends before/.test(result.reason), `cut at ${i}%: ${result.ok ? 'decoded' : result.reason}`)
    }
    // An Ogg FLAC is not a native stream: ffmpeg decodes it, as before.
    const ogg = join(work, 'tone.oga')
    await runFfmpeg(['-i', good, '-c:a', 'flac', '-f', 'ogg', ogg])
    assert.ok(!decodeFlac(new Uint8Array(await readFile(ogg))).ok)
    const viaFfmpeg = await decode(ogg)
    assert.ok(viaFfmpeg.ok)
    sameResult(viaFfmpeg, await decode(good), 'ogg flac')
  })

  it('reads a FLAC that an ID3v2 tag precedes, as ffmpeg does', async () => {
    const good = join(work, 'tagged-source.flac')
    await runFfmpeg(['-f', 'lavfi', '-i', 'aevalsrc=0.3*sin(2*PI*500*t):s=22050:d=1', '-c:a', 'flac', good])
    const body = new Uint8Array(await readFile(good))
    const frame = Buffer.concat([Buffer.from('TIT2'), Buffer.from([0, 0, 0, 6, 0, 0, 3]), Buffer.from('title')])
    const size = frame.length
    const id3 = Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]), frame])
    const tagged = join(work, 'tagged.flac')
    await writeFile(tagged, Buffer.concat([id3, body]))
    const ours = decodeFlac(new Uint8Array(await readFile(tagged)))
    assert.ok(ours.ok)
    assert.ok(bitsOf(ours.audio.samples).equals(bitsOf(await ffmpegMono(tagged))))
  })
})

/** A FLAC stream written here, bit by bit, and the mono floats it must decode to. */
interface HandMade {
  name: string
  bytes: Uint8Array
  sampleRate: number
  bits: number
  channels: number[][]
  expected: Float32Array
}

/** MSB-first bit writer with the two CRCs FLAC frames carry. */
class BitWriter {
  readonly bytes: number[] = []
  private current = 0
  private filled = 0
  put(value: number, width: number): void {
    const unsigned = value < 0 ? value + 2 ** width : value
    for (let i = width - 1; i >= 0; i--) this.bit(Math.floor(unsigned / 2 ** i) % 2)
  }
  unary(zeros: number): void {
    for (let i = 0; i < zeros; i++) this.bit(0)
    this.bit(1)
  }
  align(): void {
    while (this.filled !== 0) this.bit(0)
  }
  private bit(b: number): void {
    this.current = (this.current << 1) | b
    if (++this.filled === 8) {
      this.bytes.push(this.current)
      this.current = 0
      this.filled = 0
    }
  }
}

const crc8 = (bytes: readonly number[]): number => {
  let c = 0
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff
  }
  return c
}
const crc16 = (bytes: readonly number[]): number => {
  let c = 0
  for (const b of bytes) {
    c ^= b << 8
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x8005) & 0xffff : (c << 1) & 0xffff
  }
  return c
}

/** How a subframe is coded: its type, and for predictors the residual's partitions (a Rice parameter or an escape width each). */
type Coding =
  | { kind: 'constant' }
  | { kind: 'verbatim' }
  | { kind: 'fixed'; order: number; method: 0 | 1; partitions: (number | { escape: number })[] }
  | { kind: 'lpc'; coefs: number[]; precision: number; shift: number; method: 0 | 1; partitions: (number | { escape: number })[] }

const zigzag = (r: number): number => (r >= 0 ? 2 * r : -2 * r - 1)
const FIXED: number[][] = [[], [1], [2, -1], [3, -3, 1], [4, -6, 4, -1]]

function writeSubframe(w: BitWriter, samples: number[], bits: number, coding: Coding, wasted: number): void {
  const typeCode = { constant: 0, verbatim: 1, fixed: 8 + (coding.kind === 'fixed' ? coding.order : 0), lpc: 31 + (coding.kind === 'lpc' ? coding.coefs.length : 0) }[coding.kind]
  w.put(0, 1)
  w.put(typeCode, 6)
  w.put(wasted > 0 ? 1 : 0, 1)
  if (wasted > 0) w.unary(wasted - 1)
  const width = bits - wasted
  const s = samples.map((v) => v / 2 ** wasted)
  if (coding.kind === 'constant') return w.put(s[0]!, width)
  if (coding.kind === 'verbatim') return s.forEach((v) => w.put(v, width))
  const coefs = coding.kind === 'fixed' ? FIXED[coding.order]! : coding.coefs
  const shift = coding.kind === 'fixed' ? 0 : coding.shift
  const order = coefs.length
  s.slice(0, order).forEach((v) => w.put(v, width))
  if (coding.kind === 'lpc') {
    w.put(coding.precision - 1, 4)
    w.put(shift, 5)
    coding.coefs.forEach((c) => w.put(c, coding.precision))
  }
  const residual = s.slice(order).map((v, i) => v - Math.floor(coefs.reduce((sum, c, j) => sum + c * s[order + i - 1 - j]!, 0) / 2 ** shift))
  w.put(coding.method, 2)
  const partitionOrder = Math.log2(coding.partitions.length)
  w.put(partitionOrder, 4)
  let at = 0
  coding.partitions.forEach((p, index) => {
    const count = s.length / coding.partitions.length - (index === 0 ? order : 0)
    const part = residual.slice(at, at + count)
    at += count
    if (typeof p === 'number') {
      w.put(p, coding.method === 0 ? 4 : 5)
      for (const r of part) {
        const u = zigzag(r)
        w.unary(Math.floor(u / 2 ** p))
        w.put(u % 2 ** p, p)
      }
    } else {
      w.put(coding.method === 0 ? 15 : 31, coding.method === 0 ? 4 : 5)
      w.put(p.escape, 5)
      const fits = part.every((r) => (p.escape === 0 ? r === 0 : r >= -(2 ** (p.escape - 1)) && r < 2 ** (p.escape - 1)))
      assert.ok(fits, `an escaped partition's residuals fit its ${p.escape} bits (${Math.min(...part)}..${Math.max(...part)})`)
      part.forEach((r) => w.put(r, p.escape))
    }
  })
}

/** UTF-8-style coding of a frame or sample number, as FLAC frame headers carry it. */
function codedNumber(n: number): number[] {
  if (n < 0x80) return [n]
  const out: number[] = []
  let rest = n
  while (rest >= 0x40 >> out.length || out.length === 0) {
    out.unshift(0x80 | (rest & 0x3f))
    rest = Math.floor(rest / 64)
  }
  const lead = (0xff00 >> (out.length + 1)) & 0xff
  return [lead | rest, ...out]
}

interface FrameSpec {
  assignment: number // 0-7 independent, 8 left/side, 9 side/right, 10 mid/side
  codings: Coding[]
  wasted?: number[]
}

function handMadeStream(name: string, sampleRate: number, bits: number, channels: number[][], blockSizes: number[], frameSpec: (frame: number) => FrameSpec, variable: boolean): HandMade {
  const total = channels[0]!.length
  const w = new BitWriter()
  'fLaC'.split('').forEach((c) => w.put(c.charCodeAt(0), 8))
  w.put(0x80, 8) // last metadata block, STREAMINFO
  w.put(34, 24)
  w.put(Math.min(...(blockSizes.length > 1 ? blockSizes.slice(0, -1) : blockSizes)), 16) // the last block may be shorter
  w.put(Math.max(...blockSizes), 16)
  w.put(0, 24)
  w.put(0, 24)
  w.put(sampleRate, 20)
  w.put(channels.length - 1, 3)
  w.put(bits - 1, 5)
  w.put(total, 36)
  for (let i = 0; i < 16; i++) w.put(0, 8) // no MD5
  let start = 0
  blockSizes.forEach((n, index) => {
    const spec = frameSpec(index)
    const frame = new BitWriter()
    frame.put(0b11111111111110, 14)
    frame.put(0, 1)
    frame.put(variable ? 1 : 0, 1)
    const sizeCode = n === 192 ? 1 : n === 4096 ? 12 : n <= 256 ? 6 : 7
    frame.put(sizeCode, 4)
    frame.put(0, 4) // sample rate from STREAMINFO
    frame.put(spec.assignment, 4)
    frame.put({ 8: 1, 12: 2, 16: 4, 20: 5, 24: 6 }[bits] ?? 0, 3)
    frame.put(0, 1)
    codedNumber(variable ? start : index).forEach((b) => frame.put(b, 8))
    if (sizeCode === 6) frame.put(n - 1, 8)
    if (sizeCode === 7) frame.put(n - 1, 16)
    frame.put(crc8(frame.bytes), 8)
    const block = channels.map((c) => c.slice(start, start + n))
    const [l, r] = [block[0]!, block[1] ?? []]
    const coded =
      spec.assignment === 8 ? [l, l.map((v, i) => v - r[i]!)]
      : spec.assignment === 9 ? [l.map((v, i) => v - r[i]!), r]
      : spec.assignment === 10 ? [l.map((v, i) => Math.floor((v + r[i]!) / 2)), l.map((v, i) => v - r[i]!)]
      : block
    coded.forEach((samples, c) => {
      const side = (spec.assignment === 8 && c === 1) || (spec.assignment === 9 && c === 0) || (spec.assignment === 10 && c === 1)
      writeSubframe(frame, samples, bits + (side ? 1 : 0), spec.codings[c]!, spec.wasted?.[c] ?? 0)
    })
    frame.align()
    frame.put(crc16(frame.bytes), 16)
    w.bytes.push(...frame.bytes)
    start += n
  })
  const scale = 2 ** (bits - 1)
  const expected = new Float32Array(total).map((_, i) => {
    let sum = Math.fround(channels[0]![i]! / scale)
    for (let c = 1; c < channels.length; c++) sum = Math.fround(sum + Math.fround(channels[c]![i]! / scale))
    return Math.fround(sum / channels.length)
  })
  return { name, bytes: new Uint8Array(w.bytes), sampleRate, bits, channels, expected }
}

/** Integer samples of `bits` bits: a slow wave with a deterministic wobble, within range. */
function wave(length: number, bits: number, phase: number, multipleOf = 1): number[] {
  const max = 2 ** (bits - 1) - 1
  return Array.from({ length }, (_, i) => {
    const v = Math.round(0.6 * max * Math.sin(i / 9 + phase) + 0.05 * max * Math.sin(i * 12.9898 + phase))
    return Math.max(-max, Math.min(max, Math.round(v / multipleOf) * multipleOf))
  })
}

function handMadeStreams(): HandMade[] {
  const streams: HandMade[] = []
  // 12-bit mono, variable blocking: fixed orders 0 to 4, escaped partitions (one of zero width), verbatim, constant.
  {
    const sizes = [192, 200, 300, 256, 192, 64, 100]
    const total = sizes.reduce((a, b) => a + b, 0)
    const samples = wave(total, 12, 0)
    samples.fill(-37, 192 + 200 + 300 + 256 + 192, 192 + 200 + 300 + 256 + 192 + 64) // the constant block
    const codings: Coding[] = [
      { kind: 'fixed', order: 0, method: 0, partitions: [9, { escape: 12 }] },
      { kind: 'fixed', order: 1, method: 0, partitions: [6, 5, { escape: 9 }, 7] },
      { kind: 'fixed', order: 2, method: 1, partitions: [4, 4] },
      { kind: 'fixed', order: 3, method: 0, partitions: [{ escape: 10 }] },
      { kind: 'verbatim' },
      { kind: 'constant' },
      { kind: 'fixed', order: 4, method: 0, partitions: [8, 8, 8, 8] },
    ]
    streams.push(handMadeStream('fixed-escaped-12bit', 16_000, 12, [samples], sizes, (f) => ({ assignment: 0, codings: [codings[f]!] }), true))
    // A zero-width escape: a partition of zero residuals.
    const flat = Array.from({ length: 192 }, (_, i) => 5 * i - 400)
    streams.push(handMadeStream('zero-width-escape', 8_000, 12, [flat], [192], () => ({ assignment: 0, codings: [{ kind: 'fixed', order: 2, method: 0, partitions: [{ escape: 0 }] }] }), false))
  }
  // 20-bit stereo, every decorrelation, LPC with its own coefficients and shift, wasted bits.
  {
    const sizes = [4096, 4096, 4096, 4096, 1000]
    const total = sizes.reduce((a, b) => a + b, 0)
    const left = wave(total, 20, 0, 4)
    const right = wave(total, 20, 0.3, 4)
    const lpc: Coding = { kind: 'lpc', coefs: [3000, -1500, 400], precision: 14, shift: 11, method: 1, partitions: [14, 15, 16, 15] }
    const lpcSide: Coding = { kind: 'lpc', coefs: [900, 80], precision: 12, shift: 10, method: 1, partitions: [{ escape: 21 }, 17] }
    const specs: FrameSpec[] = [
      { assignment: 1, codings: [lpc, lpc], wasted: [2, 2] },
      { assignment: 8, codings: [lpc, lpcSide] },
      { assignment: 9, codings: [lpcSide, lpc], wasted: [0, 2] },
      { assignment: 10, codings: [lpc, lpcSide], wasted: [1, 0] },
      { assignment: 10, codings: [{ kind: 'verbatim' }, { kind: 'fixed', order: 1, method: 1, partitions: [18, 18, 18, 18, 18, 18, 18, 18] }] },
    ]
    streams.push(handMadeStream('stereo-20bit', 44_100, 20, [left, right], sizes, (f) => specs[f]!, false))
  }
  // 8-bit, three channels, long LPC (order 16) and its generic path (order 20).
  {
    const sizes = [1000, 1000]
    const channels = [wave(2000, 8, 0), wave(2000, 8, 1), wave(2000, 8, 2)]
    const long = (order: number): Coding => ({ kind: 'lpc', coefs: Array.from({ length: order }, (_, j) => (j === 0 ? 200 : j % 2 ? -3 : 2)), precision: 9, shift: 8, method: 0, partitions: [{ escape: 9 }] })
    streams.push(handMadeStream('three-channels-8bit', 22_050, 8, channels, sizes, (f) => ({ assignment: 2, codings: [long(16 + 4 * f), long(12), { kind: 'verbatim' }] }), false))
  }
  return streams
}
