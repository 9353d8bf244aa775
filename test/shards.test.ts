import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { sha256Bytes, sha256File } from '../src/dataset/hash.js'
import { writeFileAtomic, writeFileExclusive } from '../src/dataset/atomic.js'
import { arrowSchema, loadSchema, markdownReference, type RecordSchema, schemaHash, validateSchema } from '../src/dataset/schema.js'
import { encodeShard } from '../src/dataset/parquet-writer.js'
import { DatasetWriter } from '../src/dataset/writer.js'
import { readParquetMetadata, readParquetRows, withParquet } from '../src/dataset/parquet-reader.js'
import { collect } from './helpers/tree.js'
import { buildManifest, datasetVersion, type Manifest, readManifest } from '../src/dataset/manifest.js'
import { canonicalJson } from '../src/formats/json.js'
import type { Row } from '../src/kinds/record.js'
import { verifyDataset } from '../src/dataset/verify.js'

// Every field type turnkit writes, nullable and not, so one round trip covers the type mapping.
const ALL_TYPES: RecordSchema = validateSchema(
  {
    id: 'all-types',
    version: 1,
    description: 'Test schema with every type.',
    sortKey: 'key',
    fields: [
      { name: 'key', type: 'utf8', nullable: false, description: 'key' },
      { name: 'i32', type: 'int32', nullable: false, description: 'i32' },
      { name: 'i64', type: 'int64', nullable: false, description: 'i64' },
      { name: 'f32', type: 'float32', nullable: false, description: 'f32' },
      { name: 'f64', type: 'float64', nullable: true, description: 'f64' },
      { name: 'flag', type: 'bool', nullable: false, description: 'flag' },
      { name: 'blob', type: 'binary', nullable: true, description: 'blob' },
      { name: 'n', type: 'int32', nullable: false, description: 'n' },
      { name: 'mel', type: 'list<float32>', nullable: false, shape: ['n', 2], unit: 'dB', description: 'mel' },
      { name: 'f64s', type: 'list<float64>', nullable: false, description: 'f64s' },
      { name: 'i32s', type: 'list<int32>', nullable: false, description: 'i32s' },
      { name: 'i64s', type: 'list<int64>', nullable: false, description: 'i64s' },
      { name: 'texts', type: 'list<utf8>', nullable: true, description: 'texts' },
      { name: 'flags', type: 'list<bool>', nullable: false, description: 'flags' },
      { name: 'ids', type: 'list<list<int32>>', nullable: false, description: 'ids' },
    ],
  },
  'test',
)

const ROW_A: Row = {
  key: 'a',
  i32: -2147483648,
  i64: 9007199254740993n,
  f32: 0.5,
  f64: 0.1,
  flag: true,
  blob: Uint8Array.from([0, 255, 7]),
  n: 2,
  mel: Float32Array.from([1.5, -80, Math.fround(0.1), 3]),
  f64s: Float64Array.from([0.1, 1e300]),
  i32s: Int32Array.from([1, -1]),
  i64s: BigInt64Array.from([-(2n ** 63n)]),
  texts: ['rain on a roof', 'é 雨 🌧'],
  flags: [true, false, true],
  ids: [Int32Array.from([101, 102]), Int32Array.from([])],
}
const ROW_B: Row = {
  key: 'b',
  i32: 7,
  i64: 0n,
  f32: -0,
  f64: null,
  flag: false,
  blob: null,
  n: 0,
  mel: new Float32Array(0),
  f64s: new Float64Array(0),
  i32s: new Int32Array(0),
  i64s: new BigInt64Array(0),
  texts: null,
  flags: [],
  ids: [],
}

/** An audio-text row with deterministic values; `frames` x 128 log-mel (n_mels 128). */
function audioRow(i: number, frames = 3): Row {
  return {
    key: `clotho/development/${String(i).padStart(4, '0')}.wav`,
    corpus: 'clotho',
    split: 'development',
    source_path: `development/${i}.wav`,
    duration_sec: 1.5,
    num_samples: 33075,
    frames,
    n_mels: 128,
    log_mel: Float32Array.from({ length: frames * 128 }, (_, j) => -80 + ((i * 7 + j) % 800) / 10),
    captions: ['a dog barks', 'rain falls'],
    token_ids: [Int32Array.from([101, 1037, 3899, 102]), Int32Array.from([101, 4542, 102])],
    rms_dbfs: -20.25,
    peak: 0.75,
    spectral_flatness: 0.125,
    silent: false,
    source_ids: [`youtube_id:${i}`],
  }
}

/** Write `rows` and one too-short reject as a dataset of `perShard` inputs per part file, through the writer. */
async function writeDataset(dir: string, schema: RecordSchema, rows: Row[], settings: Manifest['pipeline']['settings'], perShard = 2): Promise<Manifest> {
  const reject = { key: 'clotho/development/x.wav', source: 'development/x.wav', stage: 'decode', code: 'too-short', message: '0.40 s' } as const
  const status = await DatasetWriter.write(dir, { pipeline: 'clotho', schema, settings, rows, rejects: [reject], shardRows: perShard, tool: { name: 'turnkit', version: '0.0.0-test' } })
  return status.manifest!
}

describe('schema', () => {
  it('loads audio-text from schemas/ whatever the working directory', async () => {
    const before = process.cwd()
    process.chdir(await tempDir())
    try {
      const schema = await loadSchema('audio-text')
      assert.equal(schema.sortKey, 'key')
      assert.deepEqual(
        schema.fields.map((f) => `${f.name}:${f.type}`),
        [
          'key:utf8', 'corpus:utf8', 'split:utf8', 'source_path:utf8', 'duration_sec:float32', 'num_samples:int32',
          'frames:int32', 'n_mels:int32', 'log_mel:list<float32>', 'captions:list<utf8>', 'token_ids:list<list<int32>>',
          'rms_dbfs:float32', 'peak:float32', 'spectral_flatness:float32', 'silent:bool', 'source_ids:list<utf8>',
        ],
      )
    } finally {
      process.chdir(before)
    }
  })

  it('refuses a field with an unknown type, naming the field', () => {
    const bad = { ...ALL_TYPES, fields: [{ name: 'key', type: 'utf8', nullable: false, description: 'k' }, { name: 'x', type: 'list<float16>', nullable: false, description: 'x' }] }
    assert.throws(() => validateSchema(bad, 'bad.json'), /schema bad\.json: field 'x': unknown type 'float16'/)
  })

  it('refuses a shape dimension that does not name an integer field', () => {
    const bad = { ...ALL_TYPES, fields: [{ name: 'key', type: 'utf8', nullable: false, description: 'k' }, { name: 'm', type: 'list<float32>', nullable: false, shape: ['key', 2], description: 'm' }] }
    assert.throws(() => validateSchema(bad, 'bad.json'), /field 'm': shape dimension 'key' must name a non-nullable int32 or int64 field/)
  })

  it('hashes the same definition to the same value whatever the key order', () => {
    const tiny = { id: 't', version: 1, description: 'd', sortKey: 'k', fields: [{ name: 'k', type: 'utf8', nullable: false, description: 'k' }] }
    const reordered = { fields: [{ description: 'k', nullable: false, type: 'utf8', name: 'k' }], sortKey: 'k', description: 'd', version: 1, id: 't' }
    const expected = sha256Bytes('{"description":"d","fields":[{"description":"k","name":"k","nullable":false,"type":"utf8"}],"id":"t","sortKey":"k","version":1}')
    assert.equal(schemaHash(validateSchema(tiny, 'a')), expected)
    assert.equal(schemaHash(validateSchema(reordered, 'b')), expected)
  })

  it('changes the hash when a description changes', async () => {
    const schema = await loadSchema('audio-text')
    assert.notEqual(schemaHash({ ...schema, description: `${schema.description} ` }), schemaHash(schema))
  })

  it('renders a Markdown table row per field with type, shape and unit', async () => {
    const schema = await loadSchema('audio-text')
    const md = markdownReference(schema)
    assert.match(md, /^\| Field \| Type \| Shape \| Unit \| Description \|$/m)
    assert.match(md, /^\| `log_mel` \| `list<float32>` \| \[frames, n_mels\] \| dB \| Log-mel spectrogram/m)
    assert.equal(md.split('\n').filter((l) => l.startsWith('| `')).length, schema.fields.length)
  })

  it('maps types to Arrow with non-null list items and the schema id in the metadata', () => {
    const arrow = arrowSchema(ALL_TYPES)
    assert.deepEqual(
      arrow.fields.map((f) => `${f.name}: ${String(f.type)}${f.nullable ? '?' : ''}`),
      [
        'key: Utf8', 'i32: Int32', 'i64: Int64', 'f32: Float32', 'f64: Float64?', 'flag: Bool', 'blob: Binary?', 'n: Int32',
        'mel: List<Float32>', 'f64s: List<Float64>', 'i32s: List<Int32>', 'i64s: List<Int64>', 'texts: List<Utf8>?',
        'flags: List<Bool>', 'ids: List<List<Int32>>',
      ],
    )
    assert.equal(arrow.metadata.get('turnkit:schema'), 'all-types')
    assert.equal(arrow.fields[8].metadata.get('shape'), '["n",2]')
  })
})

describe('hash', () => {
  it('writes canonical JSON with keys sorted at every level and no whitespace', () => {
    assert.equal(canonicalJson({ b: [1, { z: null, a: 'x' }], a: true, '10': 2.5 }), '{"10":2.5,"a":true,"b":[1,{"a":"x","z":null}]}')
  })

  it('refuses undefined, NaN and functions in canonical JSON, naming the path', () => {
    assert.throws(() => canonicalJson({ a: { b: undefined } }), /\$\.a\.b is undefined/)
    assert.throws(() => canonicalJson({ a: [NaN] }), /\$\.a\[0\] is NaN/)
    assert.throws(() => canonicalJson({ f: () => 1 }), /\$\.f is function/)
    assert.throws(() => canonicalJson({ d: new Date(0) }), /\$\.d is a Date, not a plain object/)
  })

  it('hashes a file streamed to the same digest as its bytes', async () => {
    const path = join(await tempDir(), 'x.bin')
    const bytes = Uint8Array.from({ length: 3_000_000 }, (_, i) => i % 251)
    await writeFile(path, bytes)
    assert.equal(await sha256File(path), sha256Bytes(bytes))
  })
})

describe('writeFileAtomic', () => {
  it('leaves the full content under the final name and no temporary file', async () => {
    const dir = await tempDir()
    await writeFileAtomic(join(dir, 'a.txt'), 'old')
    await writeFileAtomic(join(dir, 'a.txt'), 'new content')
    assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), 'new content')
    assert.deepEqual(await readdir(dir), ['a.txt'])
  })

  it('removes its temporary file when the rename fails', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, 'taken'))
    await writeFile(join(dir, 'taken', 'inside'), 'x') // a non-empty directory cannot be renamed over
    await assert.rejects(writeFileAtomic(join(dir, 'taken'), 'data'), /EISDIR|ENOTEMPTY|EEXIST/)
    assert.deepEqual(await readdir(dir), ['taken'])
  })
})

describe('writeFileExclusive', () => {
  it('creates the file whole once; later and concurrent writers get false; nobody ever sees it empty or partial', async () => {
    const dir = await tempDir()
    const path = join(dir, 'lock')
    const content = (i: number): string => `${JSON.stringify({ writer: i, pad: 'x'.repeat(4_000_000) })}\n`
    // As a lock's contenders do: whoever is refused reads at once who holds it. With an exclusive open followed
    // by a write, the first refused ones read an empty file.
    const seen: string[] = []
    const won = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const created = await writeFileExclusive(path, content(i))
        if (!created) seen.push(await readFile(path, 'utf8'))
        return created
      }),
    )
    assert.equal(won.filter(Boolean).length, 1, 'exactly one writer created it')
    const winner = won.indexOf(true)
    assert.equal(await readFile(path, 'utf8'), content(winner))
    assert.equal(seen.length, 7)
    for (const text of seen) assert.ok(text === content(winner), `a refused writer read ${text.length} bytes, not the ${content(winner).length} written`)
    assert.equal(await writeFileExclusive(path, 'other'), false)
    assert.equal(await readFile(path, 'utf8'), content(winner))
    assert.deepEqual(await readdir(dir), ['lock'], 'no temporary file left')
  })
})

describe('encodeShard and the Parquet reader', () => {
  it('round-trips every type, including empty lists, nulls and int64 beyond 2^53', async () => {
    const rows = await collect(readParquetRows(await encodeShard(ALL_TYPES, [ROW_A, ROW_B]), { schema: ALL_TYPES }))
    assert.deepEqual(rows, [ROW_A, ROW_B])
    assert.ok(rows[0].mel instanceof Float32Array)
    assert.ok(rows[0].ids instanceof Array && rows[0].ids[0] instanceof Int32Array)
  })

  it('takes plain number arrays for numeric lists and writes the same bytes as typed arrays', async () => {
    const plain = { ...ROW_A, mel: Array.from(ROW_A.mel as Float32Array), i32s: [1, -1], i64s: [-(2n ** 63n)], ids: [[101, 102], []] }
    assert.deepEqual(await encodeShard(ALL_TYPES, [plain]), await encodeShard(ALL_TYPES, [ROW_A]))
  })

  it('refuses zero rows, since a dataset never holds an empty shard', async () => {
    await assert.rejects(encodeShard(ALL_TYPES, []), /encodeShard\(all-types v1\): 0 rows/)
  })

  it('writes identical bytes for the same rows twice', async () => {
    const schema = await loadSchema('audio-text')
    const rows = Array.from({ length: 20 }, (_, i) => audioRow(i))
    const first = await encodeShard(schema, rows, { rowGroupRows: 8 })
    const second = await encodeShard(schema, rows.map((r) => ({ ...r })), { rowGroupRows: 8 })
    assert.equal(sha256Bytes(second), sha256Bytes(first))
  })

  it('records zstd as the codec of every column chunk and no timestamp in created_by', async () => {
    const meta = await readParquetMetadata(await encodeShard(await loadSchema('audio-text'), [audioRow(0), audioRow(1)]))
    assert.deepEqual(meta.codecs, ['ZSTD'])
    assert.match(meta.createdBy ?? '', /^parquet-rs version \d+\.\d+\.\d+$/)
  })

  it('splits rows into row groups of rowGroupRows and reads them one at a time', async () => {
    const schema = await loadSchema('audio-text')
    const path = join(await tempDir(), 'part-00000.parquet')
    await writeFile(path, await encodeShard(schema, Array.from({ length: 5 }, (_, i) => audioRow(i)), { rowGroupRows: 2 }))
    const { rows, rowGroups, rowGroupRows } = await readParquetMetadata(path)
    assert.deepEqual({ rows, rowGroups, rowGroupRows }, { rows: 5, rowGroups: 3, rowGroupRows: [2, 2, 1] })
    const groups: string[][] = []
    await withParquet(path, { schema }, async (file) => {
      for (let g = 0; g < file.metadata.rowGroups; g++) groups.push((await file.readRowGroup(g)).map((r) => r.key as string))
    })
    assert.deepEqual(groups, [
      ['clotho/development/0000.wav', 'clotho/development/0001.wav'],
      ['clotho/development/0002.wav', 'clotho/development/0003.wav'],
      ['clotho/development/0004.wav'],
    ])
  })

  it('a file changed, replaced or removed while it is read is an error naming it, not a crash', async () => {
    const schema = await loadSchema('audio-text')
    const dir = await tempDir()
    const path = join(dir, 'part-00000.parquet')
    const bytes = await encodeShard(schema, Array.from({ length: 4 }, (_, i) => audioRow(i)), { rowGroupRows: 2 })
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const changes: [string, () => Promise<void>][] = [
      ['changed', async () => { const later = new Date(Date.now() + 5000); await utimes(path, later, later) }], // as any write in place
      ['changed', async () => { await writeFile(join(dir, 'new.parquet'), await encodeShard(schema, [audioRow(9)])); await rename(join(dir, 'new.parquet'), path) }],
      ['removed', async () => { await rm(path) }],
    ]
    for (const [what, change] of changes) {
      await writeFile(path, bytes)
      await withParquet(path, {}, async (file) => {
        assert.equal((await file.readRowGroup(0)).length, 2)
        await change()
        // Without the check, Node refused the read and parquet-wasm aborted the process (RuntimeError: unreachable).
        await assert.rejects(file.readRowGroup(1), new RegExp(`^Error: ${escaped}: the file was ${what} .*on disk while it was being read`))
      })
    }
  })

  it('refuses a value of the wrong type, naming the row key and the field', async () => {
    const schema = await loadSchema('audio-text')
    const row = { ...audioRow(1), log_mel: new Float64Array(3 * 128) }
    await assert.rejects(
      encodeShard(schema, [audioRow(0), row]),
      /row 'clotho\/development\/0001\.wav' \(#1\): field 'log_mel' \(list<float32>\): expected Float32Array or an array of numbers, got Float64Array/,
    )
  })

  it('throws for a bad value in a later row group instead of writing a truncated file', async () => {
    // parquet-wasm ends its output cleanly when the input stream fails after the first batch.
    const schema = await loadSchema('audio-text')
    const bad = { ...audioRow(2), peak: 'loud' }
    await assert.rejects(encodeShard(schema, [audioRow(0), audioRow(1), bad], { rowGroupRows: 1 }), /row 'clotho\/development\/0002\.wav' \(#2\): field 'peak' \(float32\): expected a number, got string "loud"/)
  })

  it('refuses a token id that is not an int32, naming the row key and the field', async () => {
    const schema = await loadSchema('audio-text')
    const row = { ...audioRow(0), token_ids: [[101, 1.5, 102]] }
    await assert.rejects(encodeShard(schema, [row]), /row 'clotho\/development\/0000\.wav' \(#0\): an item of field 'token_ids' \(list<list<int32>>\): item 1: expected an int32/)
  })

  it('refuses a log-mel whose length does not match frames x n_mels', async () => {
    const schema = await loadSchema('audio-text')
    const row = { ...audioRow(0), frames: 4 }
    await assert.rejects(encodeShard(schema, [row]), /field 'log_mel' has 384 values, shape \[frames=4, n_mels=128\] needs 512/)
  })

  it('refuses rows out of key order or with a repeated key', async () => {
    const schema = await loadSchema('audio-text')
    await assert.rejects(encodeShard(schema, [audioRow(1), audioRow(0)]), /row 'clotho\/development\/0000\.wav' \(#1\) is not after 'clotho\/development\/0001\.wav'/)
    await assert.rejects(encodeShard(schema, [audioRow(0), audioRow(0)]), /must be sorted by 'key' and unique/)
  })

  it('refuses a row with a field the schema does not have', async () => {
    const schema = await loadSchema('audio-text')
    await assert.rejects(encodeShard(schema, [{ ...audioRow(0), logMel: [] }]), /unknown field 'logMel'/)
  })

  it('refuses to read a shard written with another schema, naming the file and the field', async () => {
    const schema = await loadSchema('audio-text')
    const other = validateSchema(
      { ...schema, fields: schema.fields.map((f) => (f.name === 'peak' ? { ...f, type: 'float64' } : f)) },
      'other',
    )
    const path = join(await tempDir(), 'part-00003.parquet')
    await writeFile(path, await encodeShard(other, [audioRow(0)]))
    await assert.rejects(collect(readParquetRows(path, { schema })), (error: Error) => {
      assert.match(error.message, /part-00003\.parquet: field 'peak' is float64 in the file, float32 in schema audio-text v1/)
      return true
    })
  })
})

describe('manifest', () => {
  it('verifies a freshly written dataset with no problems', async () => {
    const dir = await tempDir()
    const schema = await loadSchema('audio-text')
    const manifest = await writeDataset(dir, schema, [0, 1, 2].map((i) => audioRow(i)), { sampleRate: 22050 })
    assert.deepEqual(await verifyDataset(dir), [])
    assert.deepEqual(await readManifest(dir), manifest)
    assert.equal(manifest.inputs, 4)
    assert.deepEqual(manifest.rejects, { total: 1, byCode: { 'too-short': 1 } })
  })

  it('writes manifest.json with sorted keys, 2-space indent and a trailing newline', async () => {
    const dir = await tempDir()
    await writeDataset(dir, await loadSchema('audio-text'), [audioRow(0)], { nMels: 128, hop: 512 })
    const text = await readFile(join(dir, 'manifest.json'), 'utf8')
    assert.ok(text.endsWith('}\n'))
    assert.match(text, /^\{\n {2}"format": "turnkit-dataset\/2",\n {2}"inputs": 2,\n {2}"leaks": \[\],\n {2}"ledger": \{\n/)
    assert.match(text, /"settings": \{\n {6}"hop": 512,\n {6}"nMels": 128,\n {6}"shards": \{\n {8}"compression": "zstd",\n {8}"rowGroupRows": 128,\n {8}"shardRows": 2\n {6}\}\n {4}\}/)
  })

  it('reports a flipped byte in a shard, naming the file', async () => {
    const dir = await tempDir()
    await writeDataset(dir, await loadSchema('audio-text'), [0, 1, 2].map((i) => audioRow(i)), {})
    const path = join(dir, 'part-00001.parquet')
    const bytes = await readFile(path)
    bytes[100] ^= 0xff
    await writeFile(path, bytes)
    const problems = await verifyDataset(dir)
    assert.equal(problems.length, 1)
    assert.match(problems[0], /^part-00001\.parquet: sha256 mismatch \(manifest sha256:[0-9a-f]{64}, file sha256:[0-9a-f]{64}\)$/)
  })

  it('reports a rejects ledger whose line count differs from the manifest', async () => {
    const dir = await tempDir()
    await writeDataset(dir, await loadSchema('audio-text'), [audioRow(0)], {})
    await writeFile(join(dir, 'rejects.jsonl'), '{"a":1}\n{"b":2}\n')
    const problems = await verifyDataset(dir)
    assert.equal(problems[0], 'rejects.jsonl: 2 lines, manifest says 1 rejects')
    assert.match(problems[1] ?? '', /^rejects\.jsonl: sha256 mismatch/)
  })

  it('reports an edited ledger line: the ledger is part of the version', async () => {
    const dir = await tempDir()
    await writeDataset(dir, await loadSchema('audio-text'), [audioRow(0)], {})
    const path = join(dir, 'rejects.jsonl')
    await writeFile(path, (await readFile(path, 'utf8')).replace('"code":"too-short"', '"code":"ffmpeg-failed"'))
    assert.deepEqual(
      (await verifyDataset(dir)).map((p) => p.replace(/sha256:[0-9a-f]{64}/g, 'H')),
      ['rejects.jsonl: sha256 mismatch (manifest H, file H): a line was edited, added or removed'],
    )
  })

  it('reports a part file the manifest does not list', async () => {
    const dir = await tempDir()
    await writeDataset(dir, await loadSchema('audio-text'), [audioRow(0)], {})
    await writeFile(join(dir, 'part-00009.parquet'), await encodeShard(await loadSchema('audio-text'), [audioRow(9)]))
    assert.deepEqual(await verifyDataset(dir), ['part-00009.parquet: not listed in manifest.json'])
  })

  it('changes the version when a setting changes, and not when only speed settings or the tool differ', async () => {
    const schema = await loadSchema('audio-text')
    const rows = [0, 1, 2].map((i) => audioRow(i))
    // Speed-only settings (workers, concurrency) never reach the manifest, so two builds differing only in them
    // write the same shards; here the tool version differs too, which is recorded but not hashed.
    const a = await writeDataset(await tempDir(), schema, rows, { sampleRate: 22050 })
    const b = buildManifest({ ...a, schema: a.schema, tool: { name: 'turnkit', version: '9.9.9' } })
    const c = await writeDataset(await tempDir(), schema, rows, { sampleRate: 16000 })
    assert.equal(b.version, a.version)
    assert.notEqual(c.version, a.version)
    assert.equal(a.version, datasetVersion(schemaHash(schema), { sampleRate: 22050, shards: { compression: 'zstd', rowGroupRows: 128, shardRows: 2 } }, a.shards, a.ledger))
  })

  it('refuses to build a manifest whose reject total is not the sum by code', () => {
    assert.throws(
      () => buildManifest({
        schema: { id: 'audio-text', version: 1, hash: sha256Bytes('x') },
        pipeline: { name: 'clotho', settings: {} },
        source: { fingerprint: 'f', inputs: 3 },
        shards: [],
        rejects: { total: 3, byCode: { silent: 2 } },
        ledger: { sha256: sha256Bytes(''), lines: 3 },
      }),
      /rejects\.total is 3, but byCode sums to 2/,
    )
  })

  it('names the manifest file when a directory has none', async () => {
    const dir = await tempDir()
    await assert.rejects(readManifest(dir), /manifest\.json not found: not a turnkit dataset, or its build has not finished/)
  })
})
