// Writes a small audio-text dataset plus the values it should hold, for scripts/check-interop.py to read back
// with pyarrow and DuckDB. Usage: node --import tsx scripts/write-interop-sample.ts <out>
//   <out>/dataset/      manifest.json, part-00000.parquet, part-00001.parquet, rejects.jsonl
//   <out>/expected.json every row's values; log_mel as [offset, length] into log_mel.npy
//   <out>/log_mel.npy   every row's log_mel, concatenated, little-endian float32 (bit patterns to compare)

import { rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { DatasetWriter } from '../src/dataset/writer.js'
import { loadSchema } from '../src/dataset/schema.js'
import type { Row } from '../src/kinds/record.js'

const out = resolve(process.argv[2] ?? 'interop-sample')
const dataset = join(out, 'dataset')

// Values a float reader most often gets wrong: signed zero, NaN, infinities, subnormals, the float32 extremes.
const SPECIAL = [-0, NaN, Infinity, -Infinity, 1.401298464324817e-45, -1.1754942106924411e-38, 3.4028234663852886e38, Math.fround(0.1)]

// Deterministic values (no Math.random): a log-mel-like ramp with the specials spliced into the first frame.
function logMel(seed: number, frames: number): Float32Array {
  const values = new Float32Array(frames * 128)
  let state = seed * 2654435761
  for (let i = 0; i < values.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    values[i] = -80 + (state / 2 ** 32) * 80
  }
  if (values.length >= SPECIAL.length) values.set(SPECIAL, 0)
  return values
}

const FRAMES = [216, 3, 0, 1, 40]
const rows: Row[] = FRAMES.map((frames, i) => ({
  key: `clotho/development/clip-${i}.wav`,
  corpus: i % 2 === 0 ? 'clotho' : 'audiocaps',
  split: 'development',
  source_path: `development/clip-${i}.wav`,
  duration_sec: Math.fround(frames * 0.046),
  num_samples: frames * 1024,
  frames,
  n_mels: 128,
  log_mel: logMel(i + 1, frames),
  captions: i === 3 ? ['only one'] : ['a dog barks', 'rain on a tin roof — é 雨 🌧'],
  token_ids: i === 3 ? [[101, 2069, 2028, 102]] : [[101, 1037, 3899, 102], []],
  rms_dbfs: Math.fround(-20.5 - i),
  peak: Math.fround(0.25 * (i + 1)),
  spectral_flatness: Math.fround(i / 10),
  silent: i === 2,
  source_ids: i === 0 ? [] : [`youtube_id:abc${i}`, `audiocap_id:${9000 + i}`],
}))

await rm(out, { recursive: true, force: true })
const schema = await loadSchema('audio-text')
const { manifest } = await DatasetWriter.write(dataset, {
  pipeline: 'interop-sample',
  schema,
  settings: { sampleRate: 22050, nMels: 128 },
  rows,
  rejects: [{ key: 'clotho/development/short.wav', source: 'development/short.wav', stage: 'decode', code: 'too-short', message: '0.40 s' }],
  shardRows: 3, // part-00000 holds rows 0-2, part-00001 rows 3-4 and the reject, whose key sorts last
  rowGroupRows: 2,
})

// Companion files: scalars in JSON (float32 values are exact doubles), log-mels as raw float32 bits in .npy.
let offset = 0
const expected = rows.map((row) => {
  const mel = row.log_mel as Float32Array
  const entry = { ...row, log_mel: [offset, mel.length] }
  offset += mel.length
  return entry
})
await writeFile(join(out, 'expected.json'), `${JSON.stringify({ rows: expected }, null, 2)}\n`)
const all = new Float32Array(offset)
offset = 0
for (const row of rows) {
  all.set(row.log_mel as Float32Array, offset)
  offset += (row.log_mel as Float32Array).length
}
await writeFile(join(out, 'log_mel.npy'), npyFloat32(all))
process.stdout.write(`wrote ${dataset} (${manifest!.rows} rows, ${manifest!.shards.length} shards, version ${manifest!.version}) and ${out}/expected.json, ${out}/log_mel.npy\n`)

// NumPy .npy v1.0: magic, version, little-endian header length, a Python dict literal padded to 64 bytes.
function npyFloat32(values: Float32Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${values.length},), }`
  const unpadded = 10 + header.length + 1
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n'
  const head = Buffer.alloc(10)
  head.write('\x93NUMPY', 0, 'latin1')
  head[6] = 1
  head[7] = 0
  head.writeUInt16LE(header.length, 8)
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)])
}
