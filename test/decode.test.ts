// Decoding: WAV read in-process and every other file through ffmpeg give the same samples, mixed down and
// resampled the same way (libsoxr in WebAssembly); files decoded in one shared ffmpeg run give exactly what a run of
// their own gives, and a bad file in a batch stays that file's failure.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { runFfmpeg } from '../src/fixtures/synth.js'
import { createDecoder, decodeWithFfmpeg, resolveDecodeConfig, type DecodeResult } from '../src/audio/decode.js'
import { ffmpegBinary } from '../src/audio/ffmpeg.js'
import { readWav } from '../src/formats/wav.js'
import { resampleSoxr } from '../src/audio/soxr.js'

const same = (a: DecodeResult, b: DecodeResult): void => {
  assert.equal(a.ok, b.ok)
  if (a.ok && b.ok) {
    assert.equal(a.samples.length, b.samples.length)
    assert.ok(Buffer.from(a.samples.buffer, a.samples.byteOffset, a.samples.byteLength).equals(Buffer.from(b.samples.buffer, b.samples.byteOffset, b.samples.byteLength)), 'bit-identical samples')
  } else if (!a.ok && !b.ok) {
    assert.deepEqual([a.code, a.message], [b.code, b.message])
  }
}

describe('decoding', () => {
  let work = ''
  const config = resolveDecodeConfig({})
  const ffmpeg = ffmpegBinary()
  const tone = 'aevalsrc=exprs=0.4*sin(2*PI*440*t)|0.3*sin(2*PI*660*t+1):s=44100:d=2'
  const formats = { s16: 'pcm_s16le', s24: 'pcm_s24le', s32: 'pcm_s32le', u8: 'pcm_u8', f32: 'pcm_f32le', f64: 'pcm_f64le' } as const
  before(async () => {
    work = await tempDir()
    for (const [name, codec] of Object.entries(formats)) {
      await runFfmpeg(['-f', 'lavfi', '-i', tone, '-c:a', codec, join(work, `stereo-${name}.wav`)])
      await runFfmpeg(['-f', 'lavfi', '-i', tone, '-ac', '1', '-c:a', codec, join(work, `mono-${name}.wav`)])
    }
    await runFfmpeg(['-f', 'lavfi', '-i', tone, '-c:a', 'pcm_s16le', '-rf64', 'always', join(work, 'rf64.wav')]) // not RIFF: ffmpeg reads it
    await runFfmpeg(['-f', 'lavfi', '-i', tone, join(work, 'tone.flac')])
    await runFfmpeg(['-f', 'lavfi', '-i', tone, '-c:a', 'aac', join(work, 'tone.m4a')])
    await writeFile(join(work, 'noise.wav'), new Uint8Array(5000).map((_, i) => (i * 7919) % 251))
    const whole = await runFfmpegBytes(join(work, 'stereo-s16.wav'))
    await writeFile(join(work, 'cut.wav'), whole.subarray(0, Math.floor(whole.length / 3))) // header promises 2 s
  })

  it('reads every PCM and float WAV in-process with the samples ffmpeg decodes, mono and stereo', async () => {
    const decode = createDecoder(config, ffmpeg)
    for (const layout of ['mono', 'stereo']) {
      for (const name of Object.keys(formats)) {
        const file = join(work, `${layout}-${name}.wav`)
        const wav = readWav(new Uint8Array(await runFfmpegBytes(file)))
        assert.ok(wav.ok, `${layout} ${name}: read in-process`)
        const inProcess = await decode(file)
        assert.ok(inProcess.ok)
        assert.equal(inProcess.samples.length, 2 * 22_050)
        same(inProcess, await decodeWithFfmpeg(file, config, ffmpeg))
      }
    }
  })

  it('mixes channels down to their mean, as librosa.to_mono, then resamples with libsoxr', async () => {
    const bytes = new Uint8Array(await runFfmpegBytes(join(work, 'stereo-f32.wav'), true))
    const wav = readWav(bytes)
    assert.ok(wav.ok && wav.audio.channels === 2)
    const view = new DataView(bytes.buffer, bytes.byteOffset)
    const at = wav.audio.dataOffset
    for (const f of [0, 1000, 44_099]) {
      const mean = Math.fround(Math.fround(view.getFloat32(at + 8 * f, true) + view.getFloat32(at + 8 * f + 4, true)) / 2)
      assert.equal(wav.audio.samples[f], mean)
    }
    // The same bytes where their samples are not 4-byte aligned (read through a copy) and where they are.
    for (const shift of [1, 2, 3, 4]) {
      const moved = new Uint8Array(bytes.length + shift).subarray(shift)
      moved.set(bytes)
      const again = readWav(moved)
      assert.ok(again.ok)
      assert.deepEqual(again.audio.samples, wav.audio.samples)
    }
    const decoded = await createDecoder(config, ffmpeg)(join(work, 'stereo-f32.wav'))
    assert.ok(decoded.ok)
    assert.deepEqual(decoded.samples, resampleSoxr(wav.audio.samples, 44_100, 22_050))
  })

  it('decodes a batch in one ffmpeg run with the results of one run per file, failures included', async () => {
    const files = ['tone.flac', 'tone.m4a', 'rf64.wav', 'noise.wav', 'cut.wav', 'tone.flac', 'missing.m4a'].map((f) => join(work, f))
    const batched = createDecoder(config, ffmpeg)
    const together = await Promise.all(files.map((f) => batched(f))) // arrive together: one shared run, then re-runs
    for (const [i, file] of files.entries()) same(together[i]!, await decodeWithFfmpeg(file, config, ffmpeg))
    assert.deepEqual(together.map((r) => (r.ok ? 'ok' : r.code)), ['ok', 'ok', 'ok', 'ffmpeg-failed', 'truncated', 'ok', 'ffmpeg-failed'])
    // Only good files in the batch: every one comes from the shared run, and equals its own run too.
    const good = [join(work, 'tone.flac'), join(work, 'tone.m4a'), join(work, 'rf64.wav')]
    const clean = await Promise.all(good.map((f) => batched(f)))
    for (const [i, file] of good.entries()) same(clean[i]!, await decodeWithFfmpeg(file, config, ffmpeg))
  })

  it('decodes a window of a WAV in-process as of its start', async () => {
    const decode = createDecoder(resolveDecodeConfig({ sampleRate: 44_100 }), ffmpeg)
    const whole = await decode(join(work, 'mono-f32.wav'))
    const window = await decode(join(work, 'mono-f32.wav'), { startSeconds: 0.5, durationSeconds: 1 })
    assert.ok(whole.ok && window.ok)
    assert.equal(window.samples.length, 44_100)
    assert.deepEqual(window.samples, whole.samples.subarray(22_050, 66_150)) // no resampling at the file's own rate
  })
})

/** A file's bytes, or with `asWav` as ffmpeg rewrites it to a plain float32 WAV at its own rate. */
async function runFfmpegBytes(path: string, asWav = false): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises')
  if (!asWav) return await readFile(path)
  const out = `${path}.f32.wav`
  await runFfmpeg(['-i', path, '-c:a', 'pcm_f32le', out])
  return await readFile(out)
}
