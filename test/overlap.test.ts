// Items shared between datasets: the audio fingerprint (offset robustness, no false match), the image hash
// (re-encodes match, other pictures do not), and findOverlap end to end on fixture corpora prepared by the real
// `turnkit prepare`: a clip copied into another corpus cut at a start that is not a multiple of the hop, a picture
// re-encoded at another JPEG quality, a shared YouTube id, and unrelated corpora.
//
// What the fixtures are: every audio fixture clip is one object's tone times its pulse plus a noise waveform
// that is the same in every clip (ffmpeg's aevalsrc random() starts from the same state whatever its index), so
// two clips of one object class are the same decoded audio (up to -3 dB for the stereo ones), and two clips of
// different classes share that noise, 30-45 dB under the tone. The fingerprint ignores content 30 dB under the
// loudest band, so different classes never match and same-class clips always do: the tests check exactly that.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, readFile, readdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { writeAudioCapsFixture, writeClothoFixture } from '../src/fixtures/audio-retrieval.js'
import { writeRefCocoFixture, writeRefCocoGFixture } from '../src/fixtures/grounding.js'
import { WORLD_OBJECTS } from '../src/fixtures/world.js'
import { createLogMel } from '../src/audio/log-mel.js'
import {
  alignAt,
  audioFingerprint,
  FingerprintIndex,
  MATCH_DEFAULTS,
  matchFingerprints,
  type AudioFingerprint,
} from '../src/audio/fingerprint.js'
import { HashIndex, hammingDistance, hashOfGrey, MAX_HASH_DISTANCE, perceptualHash } from '../src/image/phash.js'
import { openDataset } from '../src/dataset/dataset.js'
import { findOverlap, namespacedId, type OverlapPair, type OverlapReport } from '../src/dataset/overlap.js'
import { seededRandom } from '../src/random.js'
import { tempDir } from './helpers/temp.js'
import { runCli } from './helpers/cli.js'

const SR = 22_050
const HOP = 1024

/** A speech-like signal (a gliding harmonic voice through moving formants, syllable envelope, pauses). */
function voice(seed: number, seconds: number, rate = SR): Float32Array {
  const random = seededRandom(seed)
  const n = Math.round(seconds * rate)
  const x = new Float32Array(n)
  let f0 = 110 + 90 * random()
  let phase = 0
  let f1 = 500
  let f2 = 1500
  let level = 0
  let target = 1
  const step = Math.round(rate / 10)
  for (let i = 0; i < n; i++) {
    if (i % step === 0) {
      f1 = 300 + 600 * random()
      f2 = 900 + 1700 * random()
      target = random() < 0.2 ? 0 : 0.3 + 0.7 * random()
    }
    f0 = Math.min(260, Math.max(90, f0 + 0.3 * (random() - 0.5)))
    phase += (2 * Math.PI * f0) / rate
    level += (target - level) * (0.002 * SR / rate)
    let s = 0
    for (let h = 1; h * f0 < 6000; h++) {
      const f = h * f0
      s += (Math.exp(-((f - f1) ** 2) / 45_000) + 0.6 * Math.exp(-((f - f2) ** 2) / 125_000) + 0.02) * Math.sin(h * phase)
    }
    x[i] = 0.1 * level * s + 0.003 * (random() - 0.5)
  }
  return x
}

/** Noise through a random slowly moving low-pass, with random bursts: rain, wind, traffic. */
function texture(seed: number, seconds: number, rate = SR): Float32Array {
  const random = seededRandom(seed)
  const n = Math.round(seconds * rate)
  const x = new Float32Array(n)
  let low = 0
  let pole = 0.5
  let gain = 0.5
  for (let i = 0; i < n; i++) {
    if (i % 2000 === 0) {
      pole = 0.3 + 0.65 * random()
      gain = random() < 0.3 ? 0.05 : 0.2 + 0.8 * random()
    }
    low = pole * low + (1 - pole) * (2 * random() - 1)
    x[i] = 0.3 * gain * low
  }
  return x
}

// One log-mel function for the file: each createLogMel (and so each logMelSpectrogram call) allocates wasm memory.
const logMel = createLogMel()
const fingerprintOf = (samples: Float32Array): ReturnType<typeof audioFingerprint> => {
  const mel = logMel(samples)
  return audioFingerprint(mel.data, mel.frames, mel.nMels)
}

/** A RIFF WAVE file of mono 16-bit PCM. */
function wav16(samples: Float32Array, rate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2)
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), i * 2)
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'latin1')
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVEfmt ', 8, 'latin1')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(rate, 24)
  header.writeUInt32LE(rate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'latin1')
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

/** Cut a PCM WAV at sample frames [start, start + length), bytes copied as they are (same format, same channels). */
function cutWav(file: Buffer, start: number, length: number): { wav: Buffer; sampleRate: number } {
  assert.equal(file.toString('latin1', 0, 4), 'RIFF')
  let at = 12
  let fmt: Buffer | undefined
  while (at + 8 <= file.length) {
    const id = file.toString('latin1', at, at + 4)
    const size = file.readUInt32LE(at + 4)
    if (id === 'fmt ') fmt = file.subarray(at, at + 8 + size)
    if (id === 'data') {
      assert.ok(fmt !== undefined, 'fmt before data')
      const blockAlign = fmt.readUInt16LE(8 + 12)
      const body = file.subarray(at + 8 + start * blockAlign, at + 8 + (start + length) * blockAlign)
      assert.equal(body.length, length * blockAlign, 'the cut lies inside the file')
      const head = Buffer.alloc(12)
      head.write('RIFF', 0, 'latin1')
      head.writeUInt32LE(4 + fmt.length + 8 + body.length, 4)
      head.write('WAVE', 8, 'latin1')
      const dataHead = Buffer.alloc(8)
      dataHead.write('data', 0, 'latin1')
      dataHead.writeUInt32LE(body.length, 4)
      return { wav: Buffer.concat([head, fmt, dataHead, body]), sampleRate: fmt.readUInt32LE(8 + 4) }
    }
    at += 8 + size + (size & 1)
  }
  throw new Error('no data chunk')
}

/** The world object a caption names (the fixtures' captions always name one). */
const classOf = (captions: readonly string[]): string => {
  const name = WORLD_OBJECTS.map((o) => o.name).find((n) => new RegExp(`\\b${n}\\b`).test(captions[0]!))
  assert.ok(name !== undefined, `no object named in '${captions[0]}'`)
  return name
}

async function prepare(corpus: string, src: string, out: string): Promise<string> {
  const run = await runCli(['prepare', corpus, '--src', src, '--out', out, '--workers', '1', '--quiet'])
  assert.equal(run.code, 0, run.stderr)
  return out
}

/** key -> object class of every row of an audio-text dataset. */
async function classes(location: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for await (const row of (await openDataset(location)).rows({ columns: ['key', 'captions'] })) out.set(row.key as string, classOf(row.captions as string[]))
  return out
}

/** key -> fingerprint of every row of an audio dataset. */
async function fingerprints(location: string): Promise<Map<string, AudioFingerprint>> {
  const out = new Map<string, AudioFingerprint>()
  for await (const row of (await openDataset(location)).rows({ columns: ['key', 'frames', 'n_mels', 'log_mel'] })) {
    out.set(row.key as string, audioFingerprint(row.log_mel as Float32Array, row.frames as number, row.n_mels as number))
  }
  return out
}

const countOf = (report: OverlapReport, by: string, a: string, b: string) => report.counts.find((c) => c.by === by && c.a === a && c.b === b)
const pairsBy = (report: OverlapReport, by: string): OverlapPair[] => report.pairs.filter((p) => p.by === by)

describe('audio fingerprint', () => {
  it('finds a clip cut at any sample offset, shorter, at the right offset', () => {
    for (const [name, signal] of [['voice', voice(11, 12)], ['texture', texture(12, 12)]] as const) {
      const whole = fingerprintOf(signal.subarray(0, 10 * SR))
      for (const offset of [1, 333, 512, 1023, SR + 517, 3 * SR + 1]) {
        const cut = fingerprintOf(signal.subarray(offset, offset + 6 * SR))
        const match = matchFingerprints(whole, cut)
        assert.ok(match !== null, `${name} cut at ${offset} samples: no match`)
        assert.ok(Math.abs(match.offset - offset / HOP) <= 1, `${name} at ${offset}: offset ${match.offset} frames`)
        assert.ok(match.ber < 0.1, `${name} at ${offset}: BER ${match.ber}`)
        assert.ok(match.frames > 100)
      }
    }
  })

  it('is level-invariant and ignores what lies 30 dB under the foreground', () => {
    const signal = voice(21, 10)
    const quieter = signal.map((v) => v * 0.25)
    assert.equal(matchFingerprints(fingerprintOf(signal), fingerprintOf(quieter))?.ber ?? 1, 0)
    // Two different voices over one shared faint texture (-40 dB) do not match; the texture alone would.
    const bed = texture(22, 10).map((v) => v * 0.01)
    const mix = (a: Float32Array): Float32Array => a.map((v, i) => v + bed[i]!)
    assert.equal(matchFingerprints(fingerprintOf(mix(voice(23, 10))), fingerprintOf(mix(voice(24, 10)))), null)
  })

  it('gives no match between different clips, and masks silence', () => {
    const clips = Array.from({ length: 12 }, (_, i) => fingerprintOf((i % 2 === 0 ? voice : texture)(100 + i, 10)))
    for (let i = 0; i < clips.length; i++) {
      for (let j = i + 1; j < clips.length; j++) assert.equal(matchFingerprints(clips[i]!, clips[j]!), null, `clips ${i} and ${j}`)
    }
    const silence = fingerprintOf(new Float32Array(10 * SR))
    assert.equal(silence.reliableBits, 0)
    assert.equal(matchFingerprints(silence, fingerprintOf(new Float32Array(10 * SR))), null)
  })

  it('indexes clips and finds the same matches as comparing every offset', () => {
    const clips = Array.from({ length: 8 }, (_, i) => voice(200 + i, 10))
    const index = new FingerprintIndex()
    for (const c of clips) index.add(fingerprintOf(c))
    index.seal()
    for (const [i, c] of clips.entries()) {
      const query = fingerprintOf(c.subarray(777 + i * 1500, 777 + i * 1500 + 5 * SR))
      const found = index.query(query)
      assert.deepEqual(found.map((m) => m.clip), [i], `clip ${i}`)
      assert.deepEqual(alignAt(index.fingerprint(i), query, found[0]!.alignment.offset), found[0]!.alignment)
    }
    assert.ok(index.bytes < 8 * 3 * 216 * 8 + 64 * 1024, `${index.bytes} bytes for 8 clips`)
  })

  it('tells the fixture clips apart: a match between two is exactly the same object class', async () => {
    const work = await tempDir()
    await writeAudioCapsFixture(join(work, 'src'), { clips: 12, seed: 4 })
    const out = await prepare('audiocaps', join(work, 'src'), join(work, 'ds'))
    const rows: { cls: string; fp: AudioFingerprint }[] = []
    for await (const row of (await openDataset(out)).rows({ columns: ['captions', 'frames', 'n_mels', 'log_mel'] })) {
      rows.push({ cls: classOf(row.captions as string[]), fp: audioFingerprint(row.log_mel as Float32Array, row.frames as number, row.n_mels as number) })
    }
    let same = 0
    for (let i = 0; i < rows.length; i++) {
      for (let j = i + 1; j < rows.length; j++) {
        const match = matchFingerprints(rows[i]!.fp, rows[j]!.fp)
        const sameClass = rows[i]!.cls === rows[j]!.cls
        assert.equal(match !== null, sameClass, `${rows[i]!.cls} vs ${rows[j]!.cls}: ${JSON.stringify(match)}`)
        if (sameClass) same++
      }
    }
    assert.ok(same > 0 && same < (rows.length * (rows.length - 1)) / 2)
  })
})

describe('perceptual hash', () => {
  let pictures: Buffer[] = []
  before(async () => {
    const work = await tempDir()
    await writeRefCocoFixture(join(work, 'a'), { clips: 6, seed: 0 })
    await writeRefCocoGFixture(join(work, 'b'), { clips: 6, seed: 5 })
    const dirs = [join(work, 'a', 'images', 'train2014'), join(work, 'b', 'train2014')]
    pictures = (await Promise.all(dirs.map(async (d) => Promise.all((await readdir(d)).sort().map((f) => readFile(join(d, f))))))).flat()
  })

  it('matches a picture re-encoded at another quality or size, and no other fixture picture', async () => {
    const hashes = await Promise.all(pictures.map((p) => perceptualHash(p)))
    for (const [i, p] of pictures.entries()) {
      const q95 = await perceptualHash(await sharp(p).jpeg({ quality: 95 }).toBuffer())
      const q60 = await perceptualHash(await sharp(p).jpeg({ quality: 60 }).toBuffer())
      const smaller = await perceptualHash(await sharp(p).resize({ height: 384 }).jpeg({ quality: 90 }).toBuffer())
      assert.ok(hammingDistance(q95, q60) <= MAX_HASH_DISTANCE, `picture ${i}: q95 vs q60 ${hammingDistance(q95, q60)}`)
      assert.ok(hammingDistance(hashes[i]!, smaller) <= MAX_HASH_DISTANCE, `picture ${i} resized: ${hammingDistance(hashes[i]!, smaller)}`)
      assert.equal(hashes[i]!.flat, false)
      for (let j = i + 1; j < pictures.length; j++) assert.ok(hammingDistance(hashes[i]!, hashes[j]!) > MAX_HASH_DISTANCE, `pictures ${i} and ${j}: ${hammingDistance(hashes[i]!, hashes[j]!)}`)
    }
  })

  it('flags flat pictures, reads hex, and indexes like a brute-force search', async () => {
    const grey = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#777777' } }).jpeg().toBuffer()
    assert.equal((await perceptualHash(grey)).flat, true)
    const h = hashOfGrey(Array.from({ length: 1024 }, (_, i) => (i % 32) * 8))
    assert.match(h.hex, /^[0-9a-f]{16}$/)
    assert.equal(hammingDistance(h.hex, h), 0)
    assert.equal(hammingDistance('ffffffffffffffff', '0000000000000000'), 64)
    assert.throws(() => hammingDistance('xyz', h), /16 hex digits/)
    const random = seededRandom(3)
    const words = Array.from({ length: 400 }, () => ({ hi: Math.floor(random() * 2 ** 32), lo: Math.floor(random() * 2 ** 32) }))
    const near = words.slice(0, 50).map(({ hi, lo }) => ({ hi: (hi ^ (1 << 3) ^ (1 << 17)) >>> 0, lo: (lo ^ (1 << 9) ^ (1 << 30) ^ (1 << 1)) >>> 0 }))
    const index = new HashIndex()
    for (const w of [...words, ...near]) index.add(w)
    for (const [q, w] of words.slice(0, 60).entries()) {
      const brute = [...words, ...near].map((x, id) => ({ id, distance: hammingDistance({ ...x, hex: '', flat: false }, { ...w, hex: '', flat: false }) })).filter((m) => m.distance <= 6)
      assert.deepEqual(index.query(w, 6), brute.sort((x, y) => x.distance - y.distance || x.id - y.id), `query ${q}`)
    }
  })
})

describe('findOverlap on prepared fixture corpora', () => {
  const ds: Record<string, string> = {}
  let copied = { from: '', to: '', offsetSeconds: 0, cls: '' }
  let sharedYoutube = ''
  let copiedImage = ''
  let replacedImage = ''
  before(async () => {
    const work = await tempDir()
    const src = (name: string): string => join(work, 'src', name)
    // A: AudioCaps, seed 0.
    await writeAudioCapsFixture(src('audiocaps-a'), { clips: 6, seed: 0 })
    ds.a = await prepare('audiocaps', src('audiocaps-a'), join(work, 'a'))
    const aClasses = await classes(ds.a)
    // (a) Clotho, with one AudioCaps clip copied in under another name, cut 1.5 s + 777 samples in (44.1 kHz: not
    // a multiple of the 2048-sample hop there), 7 s long. A bird's tone (8 Hz pulses, smoothed away at 21.5
    // frames/s) leaves too few reliable bits off the frame grid: copy a clip of another object.
    await writeClothoFixture(src('clotho'), { clips: 3, seed: 9, seconds: 4 })
    const [key, cls] = [...aClasses].find(([, c]) => c !== 'bird')!
    const id = key.split('/').pop()!
    const split = key.split('/')[1]!
    const original = await readFile(join(src('audiocaps-a'), 'audio', split, `${id}.wav`))
    const start = Math.round(1.5 * 44_100) + 777
    const { wav, sampleRate } = cutWav(original, start, 7 * 44_100)
    assert.equal(sampleRate, 44_100)
    await writeFile(join(src('clotho'), 'development', 'copied clip.wav'), wav)
    await appendFile(join(src('clotho'), 'clotho_captions_development.csv'), `copied clip.wav,A ${cls} heard again,The ${cls} once more,A ${cls},The ${cls} again,A ${cls} here\n`)
    ds.clotho = await prepare('clotho', src('clotho'), join(work, 'clotho'))
    copied = { from: key, to: 'clotho/development/copied clip.wav', offsetSeconds: start / 44_100, cls }
    // (c) AudioCaps seed 1, whose first train clip is renamed to a YouTube id of A.
    await writeAudioCapsFixture(src('audiocaps-b'), { clips: 6, seed: 1 })
    sharedYoutube = id
    const csv = await readFile(join(src('audiocaps-b'), 'train.csv'), 'utf8')
    const theirs = csv.split('\n')[1]!.split(',')[1]!
    await writeFile(join(src('audiocaps-b'), 'train.csv'), csv.replaceAll(`,${theirs},`, `,${sharedYoutube},`))
    await rename(join(src('audiocaps-b'), 'audio', 'train', `${theirs}.wav`), join(src('audiocaps-b'), 'audio', 'train', `${sharedYoutube}.wav`))
    ds.b = await prepare('audiocaps', src('audiocaps-b'), join(work, 'b'))
    // (d) AudioCaps seed 2 with every clip replaced by audio of its own (a voice or a texture).
    await writeAudioCapsFixture(src('audiocaps-own'), { clips: 5, seed: 2 })
    for (const split of ['train', 'val', 'test']) {
      for (const [i, f] of (await readdir(join(src('audiocaps-own'), 'audio', split))).entries()) {
        await writeFile(join(src('audiocaps-own'), 'audio', split, f), wav16((i % 2 === 0 ? voice : texture)(300 + i + split.length * 10, 10, 44_100), 44_100))
      }
    }
    ds.own = await prepare('audiocaps', src('audiocaps-own'), join(work, 'own'))
    // (b) RefCOCO seed 0 and RefCOCOg seed 3; RefCOCOg's first picture replaced by RefCOCO's first, the one
    // re-encoded at quality 95 and the other at 60 before both are prepared (384 px, quality 90).
    await writeRefCocoFixture(src('refcoco'), { clips: 4, seed: 0 })
    await writeRefCocoGFixture(src('refcocog'), { clips: 4, seed: 3 })
    await writeRefCocoFixture(src('refcoco-1'), { clips: 4, seed: 1 })
    const theirDir = join(src('refcocog'), 'train2014')
    const ourDir = join(src('refcoco'), 'images', 'train2014')
    const ours = (await readdir(ourDir)).sort()[0]!
    const theirPicture = (await readdir(theirDir)).sort()[0]!
    const picture = await readFile(join(ourDir, ours))
    await writeFile(join(ourDir, ours), await sharp(picture).jpeg({ quality: 95 }).toBuffer())
    await writeFile(join(theirDir, theirPicture), await sharp(picture).jpeg({ quality: 60 }).toBuffer())
    copiedImage = ours
    replacedImage = theirPicture
    ds.refcoco = await prepare('refcoco', src('refcoco'), join(work, 'refcoco'))
    ds.refcocog = await prepare('refcocog', src('refcocog'), join(work, 'refcocog'))
    ds.refcoco1 = await prepare('refcoco', src('refcoco-1'), join(work, 'refcoco-1'))
  })

  it('(a) finds a clip copied into another corpus and cut at another start, with its offset', async () => {
    const report = await findOverlap([{ location: ds.a!, role: 'train' }, { location: ds.clotho!, role: 'test' }], { by: ['audio'] })
    const pair = pairsBy(report, 'audio').find((p) => p.a.key === copied.from && p.b.key === copied.to)
    assert.ok(pair !== undefined, `no pair ${copied.from} / ${copied.to} in ${JSON.stringify(report.pairs)}`)
    const detail = pair.detail as { offsetSeconds: number; ber: number; alignedSeconds: number }
    assert.ok(Math.abs(detail.offsetSeconds - copied.offsetSeconds) <= HOP / SR, `offset ${detail.offsetSeconds} s, cut at ${copied.offsetSeconds} s`)
    assert.ok(detail.ber <= MATCH_DEFAULTS.maxBer && detail.alignedSeconds > 4, JSON.stringify(detail))
    assert.equal(report.leak, true)
    // The index finds what comparing every pair at every offset finds, and each pair is two clips of one object
    // class (the same fixture audio), never two classes. (A bird's tone, or a car's in a 4 s Clotho clip, holds too
    // few reliable bits to match: those same-class pairs are in neither list.)
    const [ca, cc] = [await classes(ds.a!), await classes(ds.clotho!)]
    const [fa, fc] = [await fingerprints(ds.a!), await fingerprints(ds.clotho!)]
    const exhaustive = [...fa].flatMap(([ka, x]) => [...fc].filter(([, y]) => matchFingerprints(x, y) !== null).map(([kc]) => `${ka} ${kc}`)).sort()
    assert.deepEqual(pairsBy(report, 'audio').map((p) => `${p.a.key} ${p.b.key}`).sort(), exhaustive)
    for (const p of pairsBy(report, 'audio')) assert.equal(ca.get(p.a.key), cc.get(p.b.key), JSON.stringify(p))
    assert.ok(exhaustive.length > 1)
    assert.deepEqual(report.skipped, [])
  })

  it('(b) finds a picture re-encoded at another JPEG quality in another corpus', async () => {
    const report = await findOverlap([{ location: ds.refcoco!, role: 'train' }, { location: ds.refcocog!, role: 'test' }], { by: ['image', 'source-id', 'audio'] })
    const pairs = pairsBy(report, 'image')
    const rowsOf = async (location: string, file: string): Promise<string[]> => {
      const keys: string[] = []
      for await (const row of (await openDataset(location)).rows({ columns: ['key', 'source_path'] })) if ((row.source_path as string).endsWith(file)) keys.push(row.key as string)
      return keys.sort()
    }
    const ours = await rowsOf(ds.refcoco!, copiedImage)
    const theirs = await rowsOf(ds.refcocog!, replacedImage)
    assert.equal(ours.length, 2) // two referred objects per picture
    assert.deepEqual(pairs.map((p) => `${p.a.key} ${p.b.key}`).sort(), ours.flatMap((a) => theirs.map((b) => `${a} ${b}`)).sort())
    for (const p of pairs) assert.ok((p.detail as { distance: number }).distance <= MAX_HASH_DISTANCE)
    assert.deepEqual(countOf(report, 'image', ds.refcoco!, ds.refcocog!), { by: 'image', a: ds.refcoco!, b: ds.refcocog!, pairs: 4, aRows: 2, bRows: 2, leak: true })
    assert.equal(countOf(report, 'source-id', ds.refcoco!, ds.refcocog!)!.pairs, 0) // other COCO image ids
    assert.deepEqual(report.skipped.map((s) => `${s.by} ${s.dataset}`), [`audio ${ds.refcoco}`, `audio ${ds.refcocog}`])
    assert.equal(report.leak, true)
  })

  it('(c) finds a YouTube id two audio corpora share, and names the leak', async () => {
    const report = await findOverlap([{ location: ds.a!, role: 'train' }, { location: ds.b!, role: 'test' }], { by: ['source-id'] })
    assert.deepEqual(report.pairs.map((p) => [p.a.key.split('/').pop(), p.b.key.split('/').pop(), p.detail]), [[sharedYoutube, sharedYoutube, { ids: [`youtube_id:${sharedYoutube}`] }]])
    assert.equal(report.leak, true)
    assert.equal(report.counts[0]!.leak, true)
    // Roles decide the leak: two training sets share items, but nothing leaks into a test set.
    const both = await findOverlap([{ location: ds.a!, role: 'train' }, { location: ds.b!, role: 'train' }], { by: ['source-id'] })
    assert.equal(both.pairsTotal, 1)
    assert.equal(both.leak, false)
  })

  it('(d) finds nothing between unrelated corpora, and says why a mode was skipped', async () => {
    const images = await findOverlap([{ location: ds.refcoco!, role: 'train' }, { location: ds.refcoco1!, role: 'test' }])
    assert.equal(images.pairsTotal, 0, JSON.stringify(images.pairs))
    assert.deepEqual(images.counts.map((c) => [c.by, c.pairs]), [['source-id', 0], ['image', 0]])
    assert.equal(images.leak, false)
    // Audio of its own against the fixture audio, by every mode: nothing; and the audio corpora have no pictures.
    const dataset = await openDataset(ds.own!)
    const audio = await findOverlap([{ location: ds.a!, role: 'train' }, { dataset, role: 'test', name: 'own' }, ds.refcoco1!])
    assert.equal(audio.pairsTotal, 0, JSON.stringify(audio.pairs))
    assert.deepEqual(audio.counts.filter((c) => c.by === 'audio').map((c) => [c.a, c.b, c.pairs]), [[ds.a, 'own', 0]])
    assert.deepEqual(audio.skipped.map((s) => `${s.by} ${s.dataset}`).sort(), [`audio ${ds.refcoco1}`, `image ${ds.a}`, 'image own'].sort())
    assert.deepEqual(audio.datasets.map((d) => [d.name, d.role, d.rows]), [[ds.a, 'train', 6], ['own', 'test', 5], [ds.refcoco1, 'any', 8]])
    // Two fixture corpora of different seeds are not unrelated by audio: their clips of one object class are the
    // same decoded audio (see the top of this file), and those are exactly the pairs found.
    const seeds = await findOverlap([ds.a!, ds.b!], { by: ['audio'] })
    const [ca, cb] = [await classes(ds.a!), await classes(ds.b!)]
    for (const p of seeds.pairs) assert.equal(ca.get(p.a.key), cb.get(p.b.key), JSON.stringify(p))
    assert.ok(seeds.pairs.length > 0)
  })

  it('orients pairs by input order whichever dataset is read first, and bounds the listed pairs', async () => {
    const forward = await findOverlap([ds.clotho!, ds.a!], { by: ['audio'] })
    assert.ok(forward.pairs.length > 0 && forward.pairs.every((p) => p.a.dataset === ds.clotho && p.b.dataset === ds.a))
    const pair = forward.pairs.find((p) => p.a.key === copied.to && p.b.key === copied.from)!
    assert.ok(Math.abs((pair.detail as { offsetSeconds: number }).offsetSeconds + copied.offsetSeconds) <= HOP / SR)
    const capped = await findOverlap([ds.clotho!, ds.a!], { by: ['audio'], maxPairs: 1 })
    assert.equal(capped.pairs.length, 1)
    assert.equal(capped.pairsTotal, forward.pairsTotal)
    assert.equal(capped.counts[0]!.pairs, forward.pairsTotal)
    await assert.rejects(findOverlap([ds.a!]), /two or more datasets/)
    await assert.rejects(findOverlap([ds.a!, ds.b!], { by: ['colour' as 'audio'] }), /unknown mode 'colour'/)
  })

  it('puts identifiers in their namespaces', () => {
    assert.equal(namespacedId('refcoco', 'image_id', '42'), namespacedId('refcocog', 'image_id', '42'))
    assert.notEqual(namespacedId('refcoco', 'image_id', '42'), namespacedId('flickr30k-entities', 'image_id', '42'))
    assert.equal(namespacedId('flickr30k-entities', 'image_id', '42'), namespacedId('flickr-soundnet', 'flickr_id', '42'))
    assert.equal(namespacedId('audiocaps', 'youtube_id', 'x'), namespacedId('vggss', 'youtube_id', 'x'))
    assert.notEqual(namespacedId('clotho', 'file_name', 'a.wav'), namespacedId('vggss', 'file', 'a.wav'))
  })
})
