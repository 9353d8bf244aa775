// Grounding corpora: the listings of every layout (refs pickle / JSON / JSONL / Parquet, refclef, Flickr30k
// Entities markup and VOC XML), the image-text-box stage, and each corpus end to end through the real CLI.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cp, readFile, readdir, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { Field, Int32, Int64, List, Struct, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow'
import { Table as WasmTable, writeParquet } from 'parquet-wasm'
import {
  listFlickr30kEntities,
  listRefCoco,
  listRefCocoG,
  listReferItGame,
  parseEntityAnnotation,
  parseEntitySentence,
} from '../pipelines/grounding.js'
import { createImageTextBoxStage, resolveImageTextBoxOptions, type GroundingSource } from '../src/kinds/image-text-box.js'
import { reject, type Reject } from '../src/kinds/reject.js'
import { writePickle } from '../src/fixtures/pickle-writer.js'
import { WORLD_OBJECTS } from '../src/fixtures/world.js'
import { placeObjects } from '../src/fixtures/grounding.js'
import { seededRandom } from '../src/random.js'
import { readParquetRows } from '../src/dataset/parquet-reader.js'
import { collect, tempTree } from './helpers/tree.js'
import { openCorpus } from '../src/dataset/corpus.js'
import { tempDir } from './helpers/temp.js'
import { runCli } from './helpers/cli.js'

// A refs file as the refer repo's refs(unc).p holds it (file_name with the extra _<ann_id>).
const REFS = [
  {
    ref_id: 7, ann_id: 70, image_id: 581857, split: 'train', category_id: 1, sent_ids: [0, 1],
    file_name: 'COCO_train2014_000000581857_70.jpg',
    sentences: [
      { raw: 'THE LADY  with the blue shirt', sent: 'the lady with the blue shirt', tokens: ['the', 'lady'], sent_id: 0 },
      { raw: 'lady on left', sent: 'lady on left', tokens: ['lady', 'on', 'left'], sent_id: 1 },
    ],
  },
]
const INSTANCES = {
  images: [{ id: 581857, file_name: 'COCO_train2014_000000581857.jpg', width: 640, height: 427 }],
  annotations: [{ id: 70, image_id: 581857, bbox: [103.93, 299.99, 134.22, 177.42], category_id: 1 }],
  categories: [{ id: 1, name: 'person' }],
}
const EXPECTED_RECORD: GroundingSource = {
  key: 'refcoco/train/7',
  source: 'images/train2014/COCO_train2014_000000581857.jpg',
  corpus: 'refcoco',
  split: 'train',
  boxPx: [103.93, 299.99, 134.22, 177.42],
  annotatedSize: [640, 427],
  category: 'person',
  categoryId: 1,
  expressions: ['THE LADY with the blue shirt', 'lady on left'],
  sourceIds: ['ref_id:7', 'ann_id:70', 'image_id:581857'],
}

const refcocoTree = (refs: Record<string, string | Uint8Array>, extra: Record<string, string | Uint8Array> = {}): Promise<string> =>
  tempTree({ ...refs, 'refcoco/instances.json': JSON.stringify(INSTANCES), 'images/train2014/.keep': '', ...extra })

/** The refs as a Parquet export: nested sentences as list<struct>, image_id as int64, one row per ref. */
function refsParquet(): Uint8Array {
  const sentence = new Struct([new Field('raw', new Utf8(), true), new Field('sent', new Utf8(), true), new Field('sent_id', new Int32(), true)])
  const table = new Table({
    ref_id: vectorFromArray(REFS.map((r) => r.ref_id), new Int32()),
    ann_id: vectorFromArray(REFS.map((r) => BigInt(r.ann_id)), new Int64()),
    image_id: vectorFromArray(REFS.map((r) => BigInt(r.image_id)), new Int64()),
    split: vectorFromArray(REFS.map((r) => r.split), new Utf8()),
    category_id: vectorFromArray(REFS.map((r) => r.category_id), new Int32()),
    file_name: vectorFromArray(REFS.map((r) => r.file_name), new Utf8()),
    sentences: vectorFromArray(REFS.map((r) => r.sentences.map(({ raw, sent, sent_id }) => ({ raw, sent, sent_id }))), new List(new Field('item', sentence, true))),
  })
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')))
}

describe('placeObjects', () => {
  it('puts distinct objects one per slot, inside their half or third of the image', () => {
    const random = seededRandom(3)
    for (const slots of [2, 3] as const) {
      for (let i = 0; i < 50; i++) {
        const placed = placeObjects(random, 384, 288, slots, slots)
        assert.deepEqual(placed.map((p) => p.slot), slots === 2 ? ['left', 'right'] : ['left', 'middle', 'right'])
        assert.equal(new Set(placed.map((p) => p.object.name)).size, slots)
        placed.forEach(({ boxPx: [x, y, w, h] }, k) => {
          assert.ok(x >= k * (384 / slots) && x + w <= (k + 1) * (384 / slots), `slot ${k} of ${slots}: x ${x}..${x + w}`)
          assert.ok(y >= 0 && y + h <= 288 && w === h && w % 2 === 0)
        })
      }
    }
  })
})

describe('listRefCoco', () => {
  it('lists one record per ref from refs(unc).p, with box and category from instances.json and the image it names', async () => {
    const root = await refcocoTree({ 'refcoco/refs(unc).p': writePickle(REFS) })
    assert.deepEqual(await collect(listRefCoco(await openCorpus(root))), [EXPECTED_RECORD])
  })

  it('reads the same records from JSON, JSONL and Parquet exports of the refs', async () => {
    for (const [name, content] of [
      ['refcoco/refs(unc).json', JSON.stringify(REFS)],
      ['refcoco/refs.jsonl', REFS.map((r) => JSON.stringify(r)).join('\n') + '\n'],
      ['refcoco/refs.parquet', refsParquet()],
    ] as const) {
      const root = await refcocoTree({ [name]: content })
      assert.deepEqual(await collect(listRefCoco(await openCorpus(root))), [EXPECTED_RECORD], name)
    }
  })

  it('finds the refer repo layout: data/refcoco/ and data/images/mscoco/images/train2014/', async () => {
    const root = await tempTree({
      'data/refcoco/refs(unc).p': writePickle(REFS),
      'data/refcoco/instances.json': JSON.stringify(INSTANCES),
      'data/images/mscoco/images/train2014/.keep': '',
    })
    const [record] = await collect(listRefCoco(await openCorpus(root)))
    assert.equal(record?.source, 'data/images/mscoco/images/train2014/COCO_train2014_000000581857.jpg')
  })

  it('names the image from the refs file_name without its _<ann_id> suffix when instances.json lacks the image', async () => {
    const instances = { ...INSTANCES, images: [] }
    const root = await tempTree({ 'refcoco/refs(unc).p': writePickle(REFS), 'refcoco/instances.json': JSON.stringify(instances), 'train2014/.keep': '' })
    const [record] = await collect(listRefCoco(await openCorpus(root)))
    assert.deepEqual([record?.source, (record as GroundingSource).annotatedSize], ['train2014/COCO_train2014_000000581857.jpg', null])
  })

  it('refuses a box holding the bare NaN that Python json.dump writes, naming the ref', async () => {
    const instances = JSON.stringify(INSTANCES).replace('[103.93,299.99,134.22,177.42]', '[NaN,299.99,134.22,-Infinity]')
    const root = await tempTree({ 'refcoco/refs(unc).p': writePickle(REFS), 'refcoco/instances.json': instances, 'images/train2014/.keep': '' })
    assert.deepEqual(await collect(listRefCoco(await openCorpus(root))), [
      reject('refcoco/train/7', 'list', 'bad-box', 'refcoco/refs(unc).p item 0: bbox [null,299.99,134.22,null] has a NaN, infinite or missing coordinate', EXPECTED_RECORD.source),
    ])
  })

  it('turns a JSONL line that is not JSON into a bad-row reject and keeps the other lines', async () => {
    const root = await refcocoTree({ 'refcoco/refs.jsonl': `${JSON.stringify(REFS[0])}\n{"ref_id": 8,\n` })
    const out = await collect(listRefCoco(await openCorpus(root)))
    assert.deepEqual(out.map((r) => [r.key, 'code' in r ? r.code : 'record']), [['refcoco/bad-row/line-2', 'bad-row'], ['refcoco/train/7', 'record']])
  })

  it('refuses an image file_name that leaves the image folder', async () => {
    const instances = { ...INSTANCES, images: [{ ...INSTANCES.images[0], file_name: '../../../etc/passwd' }] }
    const root = await tempTree({ 'refcoco/refs(unc).p': writePickle(REFS), 'refcoco/instances.json': JSON.stringify(instances), 'images/train2014/.keep': '' })
    const [out] = await collect(listRefCoco(await openCorpus(root)))
    assert.deepEqual([(out as Reject).code, (out as Reject).message], ['unsafe-path', 'refcoco/refs(unc).p item 0: image file_name "../../../etc/passwd" leaves images/train2014/; not opened'])
  })

  it('fails the whole listing on a pickle that would run code, naming the file and the opcode', async () => {
    const evil = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cposix\nsystem\nX\x04\x00\x00\x00true\x85R.', 'latin1')])
    const root = await refcocoTree({ 'refcoco/refs(unc).p': evil })
    await assert.rejects(collect(listRefCoco(await openCorpus(root))), /^Error: refcoco\/refs\(unc\)\.p: pickle opcode GLOBAL \('posix system'\) at byte 2 would import code; .*nothing was executed/)
  })

  it('keeps only the requested splits', async () => {
    const refs = [REFS[0]!, { ...REFS[0]!, ref_id: 8, split: 'testB' }]
    const root = await refcocoTree({ 'refcoco/refs(unc).p': writePickle(refs) })
    assert.deepEqual((await collect(listRefCoco(await openCorpus(root), { splits: ['testB'] }))).map((r) => r.key), ['refcoco/testB/8'])
  })

  it('names the missing refs files when there are none', async () => {
    const root = await tempTree({ 'images/train2014/.keep': '' })
    await assert.rejects(collect(listRefCoco(await openCorpus(root))), /refcoco: no metadata in .*: looked for refcoco\/refs\(unc\)\.p, /)
  })
})

describe('listRefCocoG', () => {
  it('prefers the UMD split refs(umd).p over refs(google).p', async () => {
    const root = await tempTree({
      'refcocog/refs(google).p': writePickle([{ ...REFS[0]!, split: 'val' }]),
      'refcocog/refs(umd).p': writePickle([{ ...REFS[0]!, split: 'test' }]),
      'refcocog/instances.json': JSON.stringify(INSTANCES),
      'train2014/.keep': '',
    })
    assert.deepEqual((await collect(listRefCocoG(await openCorpus(root)))).map((r) => r.key), ['refcocog/test/7'])
  })
})

describe('listReferItGame', () => {
  it('finds a SAIAPR image by its id anywhere under images/saiapr_tc-12', async () => {
    const refs = [{ ref_id: 3, ann_id: 30, image_id: 20123, split: 'test', category_id: 5, file_name: '20123_30.jpg', sentences: [{ raw: 'sky', sent: 'sky', tokens: ['sky'], sent_id: 0 }] }]
    const instances = { images: [{ id: 20123, file_name: '20123.jpg', width: 480, height: 360 }], annotations: [{ id: 30, image_id: 20123, bbox: [0, 0, 480, 120], category_id: 5 }], categories: [{ id: 5, name: 'sky-blue' }] }
    const root = await tempTree({
      'refclef/refs(berkeley).p': writePickle(refs),
      'refclef/instances.json': JSON.stringify(instances),
      'images/saiapr_tc-12/20/images/20123.jpg': '',
      'images/saiapr_tc-12/20/segmentation_masks/20123_1.mat': '',
    })
    assert.deepEqual(await collect(listReferItGame(await openCorpus(root))), [
      {
        key: 'referitgame/test/3', source: 'images/saiapr_tc-12/20/images/20123.jpg', corpus: 'referitgame', split: 'test', boxPx: [0, 0, 480, 120],
        annotatedSize: [480, 360], category: 'sky-blue', categoryId: 5, expressions: ['sky'], sourceIds: ['ref_id:3', 'ann_id:30', 'image_id:20123'],
      },
    ])
  })
})

describe('parseEntitySentence', () => {
  it('reads phrases with their chain and types', () => {
    assert.deepEqual(parseEntitySentence('[/EN#18/people A child] in [/EN#19/clothing a pink dress] climbs .'), {
      words: ['A', 'child', 'in', 'a', 'pink', 'dress', 'climbs', '.'],
      phrases: [
        { chainId: '18', types: ['people'], text: 'A child' },
        { chainId: '19', types: ['clothing'], text: 'a pink dress' },
      ],
    })
  })

  it('reads nested phrases and several types such as /EN#123/people/other', () => {
    const parsed = parseEntitySentence('[/EN#123/people/other the man with [/EN#124/clothing a hat]] waves')
    assert.deepEqual('phrases' in parsed ? parsed.phrases : parsed, [
      { chainId: '124', types: ['clothing'], text: 'a hat' },
      { chainId: '123', types: ['people', 'other'], text: 'the man with a hat' },
    ])
  })

  it('reports a phrase that is never closed', () => {
    assert.deepEqual(parseEntitySentence('[/EN#5/people a man waves'), { error: 'phrase /EN#5 is never closed' })
  })
})

describe('parseEntityAnnotation', () => {
  it('turns 1-based inclusive VOC corners into continuous [x, y, w, h] and keeps nobndbox and scene flags', () => {
    const xml =
      '<annotation><size><width>500</width><height>375</height><depth>3</depth></size>' +
      '<object><name>18</name><name>20</name><bndbox><xmin>1</xmin><ymin>20</ymin><xmax>10</xmax><ymax>300</ymax></bndbox></object>' +
      '<object><name>21</name><nobndbox>0</nobndbox><scene>1</scene></object>' +
      '<object><name>22</name><nobndbox>1</nobndbox><scene>0</scene></object></annotation>'
    assert.deepEqual(parseEntityAnnotation(xml), {
      width: 500,
      height: 375,
      objects: [
        { names: ['18', '20'], box: [0, 19, 10, 281], nobndbox: false, scene: false },
        { names: ['21'], box: null, nobndbox: false, scene: true },
        { names: ['22'], box: null, nobndbox: true, scene: false },
      ],
    })
  })
})

describe('listFlickr30kEntities', () => {
  const annotation =
    '<annotation><size><width>500</width><height>375</height><depth>3</depth></size>' +
    '<object><name>1</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>60</xmax><ymax>80</ymax></bndbox></object>' +
    '<object><name>1</name><bndbox><xmin>101</xmin><ymin>41</ymin><xmax>150</xmax><ymax>100</ymax></bndbox></object>' +
    '<object><name>2</name><nobndbox>0</nobndbox><scene>1</scene></object>' +
    '<object><name>3</name><nobndbox>1</nobndbox><scene>0</scene></object></annotation>'
  const sentences = '[/EN#1/animals Two dogs] play in [/EN#2/scene a park] .\n[/EN#1/animals The dogs] chase [/EN#3/other the wind] .\n[/EN#1/animals Two dogs] run .\n'

  it('lists one record per chain with its distinct phrases and the union of its boxes, and a no-box line per boxless chain', async () => {
    const root = await tempTree({ 'test.txt': '42\n', 'Sentences/42.txt': sentences, 'Annotations/42.xml': annotation, 'flickr30k-images/42.jpg': '' })
    assert.deepEqual(await collect(listFlickr30kEntities(await openCorpus(root))), [
      {
        key: 'flickr30k-entities/test/42/1', source: 'flickr30k-images/42.jpg', corpus: 'flickr30k-entities', split: 'test',
        boxPx: [10, 20, 140, 80], annotatedSize: [500, 375], category: 'animals', categoryId: -1,
        expressions: ['Two dogs', 'The dogs'], sourceIds: ['image_id:42', 'chain_id:1'],
      },
      reject('flickr30k-entities/test/42/2', 'list', 'no-box', 'chain 2 marked scene in Annotations/42.xml: no box drawn', 'Annotations/42.xml'),
      reject('flickr30k-entities/test/42/3', 'list', 'no-box', 'chain 3 marked nobndbox in Annotations/42.xml: no box drawn', 'Annotations/42.xml'),
    ])
  })

  it('never opens an image id that is a path', async () => {
    const root = await tempTree({ 'train.txt': '../../etc/passwd\n', 'flickr30k-images/.keep': '' })
    assert.deepEqual(await collect(listFlickr30kEntities(await openCorpus(root), { splits: ['train'] })), [
      reject('flickr30k-entities/train/line-1', 'list', 'unsafe-path', 'train.txt line 1: image id "../../etc/passwd" is a path; not opened', 'train.txt'),
    ])
  })
})

describe('createImageTextBoxStage', () => {
  const record = (expressions: string[], source = 'img.jpg'): GroundingSource => ({
    key: 'refcoco/train/1', source, corpus: 'refcoco', split: 'train', boxPx: [8, 8, 16, 16], annotatedSize: null,
    category: '', categoryId: -1, expressions, sourceIds: [],
  })

  it('drops expressions without text and stores the box normalized to the resized image', async () => {
    const root = await tempTree({ 'img.jpg': await sharp({ create: { width: 64, height: 32, channels: 3, background: '#808080' } }).jpeg().toBuffer() })
    const stage = createImageTextBoxStage(resolveImageTextBoxOptions({ image: { shortEdge: 16 } }).resolved)
    const row = (await stage({ record: record(['\u0000', 'the grey one']), files: { 'img.jpg': join(root, 'img.jpg') } })) as Record<string, unknown>
    assert.deepEqual(
      [row.expressions, row.token_ids, row.width, row.height, row.box],
      [['the grey one'], [Int32Array.from([101, 1996, 4462, 2028, 102])], 32, 16, Float32Array.from([0.125, 0.25, 0.25, 0.5])],
    )
  })

  it('rejects a record whose expressions all lose their text, without opening the image', async () => {
    const stage = createImageTextBoxStage(resolveImageTextBoxOptions({}).resolved)
    assert.deepEqual(await stage({ record: record(['\u0007'], 'absent.jpg'), files: { 'absent.jpg': join(await tempDir(), 'absent.jpg') } }), reject('refcoco/train/1', 'tokenize', 'bad-caption', 'none of 1 expressions has any text after cleaning'))
  })
})

/** Parse `turnkit fixtures` output: "wrote X fixture to D: 24 inputs, expect 12 rows and rejects bad-box 3, ...". */
function parseExpectation(stdout: string): { inputs: number; rows: number; rejects: Record<string, number> } {
  const m = /: (\d+) inputs, expect (\d+) rows(?: and rejects (.*))?$/m.exec(stdout)
  assert.ok(m, stdout)
  const rejects = Object.fromEntries((m[3] ?? '').split(', ').filter((s) => s !== '').map((s) => [s.split(' ')[0]!, Number(s.split(' ')[1])]))
  return { inputs: Number(m[1]), rows: Number(m[2]), rejects }
}

describe('grounding corpora end to end: turnkit fixtures --corrupt, prepare, verify', () => {
  const prepared = new Map<string, { src: string; out: string }>()
  for (const corpus of ['refcoco', 'refcoco+', 'refcocog', 'referitgame', 'flickr30k-entities']) {
    it(`${corpus}: every input is a row or a ledger line with the expected code, and verify passes`, async () => {
      const base = await tempDir()
      const src = join(base, 'raw')
      const out = join(base, 'dataset')
      const fixtures = await runCli(['fixtures', corpus, '--out', src, '--clips', '3', '--corrupt'])
      assert.equal(fixtures.code, 0, fixtures.stderr)
      const expected = parseExpectation(fixtures.stdout)
      const run = await runCli(['prepare', corpus, '--src', src, '--out', out, '--workers', '2', '--max-reject-ratio', '1', '--json', '--quiet'])
      assert.equal(run.code, 0, run.stderr)
      const summary = JSON.parse(run.stdout) as { inputs: number; rows: number; rejects: { byCode: Record<string, number> } }
      assert.deepEqual({ inputs: summary.inputs, rows: summary.rows, rejects: summary.rejects.byCode }, expected)
      assert.equal(expected.inputs, expected.rows + Object.values(expected.rejects).reduce((a, b) => a + b, 0))
      const verify = await runCli(['verify', out])
      assert.equal(verify.code, 0, verify.stderr)
      prepared.set(corpus, { src, out })
    })
  }

  it('stores each box where the drawn object is in the stored JPEG', async (t) => {
    const dataset = prepared.get('refcoco')
    if (dataset === undefined) return t.skip('the refcoco end-to-end test did not run')
    const part = (await readdir(dataset.out)).find((n) => n.endsWith('.parquet'))!
    const rows = await collect(readParquetRows(join(dataset.out, part)))
    assert.equal(rows.length, 6)
    let checked = 0
    for (const row of rows) {
      const object = WORLD_OBJECTS.find((o) => o.name === row.category)!
      // A triangle's apex is a few pixels too thin to survive the colour threshold; squares and circles are not.
      if (object.shape === 'triangle') continue
      const colour = object.color
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16))
      const { data, info } = await sharp(row.image_jpeg as Uint8Array).raw().toBuffer({ resolveWithObject: true })
      let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity]
      for (let y = 0; y < info.height; y++) {
        for (let x = 0; x < info.width; x++) {
          const i = (y * info.width + x) * info.channels
          if (Math.abs(data[i]! - r!) + Math.abs(data[i + 1]! - g!) + Math.abs(data[i + 2]! - b!) < 60) {
            x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1)
          }
        }
      }
      const [bx, by, bw, bh] = row.box as Float32Array
      const stored = [bx! * info.width, by! * info.height, (bx! + bw!) * info.width, (by! + bh!) * info.height]
      // Lanczos edges and JPEG blocks blur the outline by under a pixel; a wrong frame or scale would be far off.
      for (const [i, found] of [x0, y0, x1, y1].entries()) assert.ok(Math.abs(found - stored[i]!) <= 1.5, `${row.key}: ${[x0, y0, x1, y1]} vs ${stored}`)
      checked++
    }
    assert.ok(checked >= 3, `only ${checked} rows with a square or circle`)
  })

  it('refuses a refs pickle carrying code with one error line naming the file and opcode, and runs nothing', async (t) => {
    const dataset = prepared.get('refcoco')
    if (dataset === undefined) return t.skip('the refcoco end-to-end test did not run')
    const src = join(await tempDir(), 'raw')
    await cp(dataset.src, src, { recursive: true })
    await rm(join(src, 'refcoco', 'refs(unc).p'))
    await cp(join(src, 'refcoco', 'refs(evil).p'), join(src, 'refcoco', 'refs(unc).p'))
    const out = join(await tempDir(), 'dataset')
    const run = await runCli(['prepare', 'refcoco', '--src', src, '--out', out])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /^turnkit prepare: refcoco\/refs\(unc\)\.p: pickle opcode GLOBAL \('posix system'\) at byte 2 would import code; turnkit reads plain-data pickles only \(nothing was executed\)[^\n]*\n$/)
    assert.deepEqual([existsSync(join(dataset.src, 'PWNED')), existsSync(join(src, 'PWNED')), existsSync(join(out, 'manifest.json'))], [false, false, false])
    assert.match((await readFile(join(src, 'refcoco', 'refs(unc).p'))).toString('latin1'), /posix\nsystem/)
  })
})
