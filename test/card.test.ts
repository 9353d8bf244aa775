// The dataset card (README.md, src/dataset/card.ts) through the real `turnkit prepare` and `merge`: front matter
// that Hugging Face `datasets` reads (every part file, every column's feature, the manifest's rows), counts that
// equal the rows and the manifest, the same bytes from one run, from merged parts and from another folder, never
// part of the version, and a user's README.md never overwritten.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { writeRefCocoFixture } from '../src/fixtures/grounding.js'
import { openDataset } from '../src/dataset/dataset.js'
import { DatasetWriter } from '../src/dataset/writer.js'
import { verifyDataset } from '../src/dataset/verify.js'
import { prepareCorpus } from '../src/cli/corpora.js'
import { loadSchema, type RecordSchema } from '../src/dataset/schema.js'
import { CARD_MARKER, isTurnkitCard } from '../src/dataset/card.js'
import { tempDir } from './helpers/temp.js'
import { runCli } from './helpers/cli.js'

interface Manifest {
  version: string
  rows: number
  inputs: number
  rejects: { total: number; byCode: Record<string, number> }
  shards: { file: string; rows: number; bytes: number }[]
}
interface Feature {
  name: string
  dtype?: string
  list?: unknown
}
interface FrontMatter {
  pretty_name: string
  license: string
  tags: string[]
  configs?: { config_name: string; data_files: { split: string; path: string[] }[] }[]
  dataset_info: { features: Feature[]; splits: { name: string; num_examples: number }[]; download_size: number }
}

const readManifest = async (dir: string): Promise<Manifest> => JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest
const readCard = async (dir: string): Promise<string> => await readFile(join(dir, 'README.md'), 'utf8')

/** The card's YAML front matter, parsed by an independent YAML parser. */
function frontMatter(card: string): FrontMatter {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(card)
  assert.ok(match, 'the card opens with YAML front matter between --- lines')
  return parse(match[1]!) as FrontMatter
}

/** The rows of the first Markdown table under `## <heading>`, as arrays of cell texts (header and rule left out). */
function tableUnder(card: string, heading: string): string[][] {
  const start = card.indexOf(`\n## ${heading}\n`)
  assert.ok(start >= 0, `the card has a section '${heading}'`)
  const section = card.slice(start + 1).split('\n## ')[0]!
  const lines = section.split('\n').filter((l) => l.startsWith('| '))
  return lines.slice(2).map((l) => l.slice(2, -2).split(' | '))
}

/** The feature `datasets` names for a turnkit field type. */
function expectedFeature(name: string, type: string): Feature {
  const dtype = (t: string): string => ({ utf8: 'string', int32: 'int32', int64: 'int64', float32: 'float32', float64: 'float64', bool: 'bool', binary: 'binary' })[t]!
  const inner = (t: string): unknown => (t.startsWith('list<') ? { list: inner(t.slice(5, -1)) } : dtype(t))
  return type.startsWith('list<') ? { name, list: inner(type.slice(5, -1)) } : { name, dtype: dtype(type) }
}

describe('the dataset card', () => {
  let work = ''
  let src = ''
  let single = ''
  let schema: RecordSchema
  const prepare = (out: string, ...extra: string[]) =>
    runCli(['prepare', 'refcoco', '--src', src, '--out', out, '--shard-rows', '8', '--max-reject-ratio', '1', '--quiet', ...extra])
  // The same build in this process, where a spawned `turnkit` would only add its start-up time.
  const prepareHere = (out: string) => prepareCorpus('refcoco', { src, out, shardRows: 8, workers: 0 })

  before(async () => {
    work = await tempDir('card-')
    src = join(work, 'refcoco')
    await writeRefCocoFixture(src, { clips: 8, seed: 2, corrupt: true }) // several splits, categories and reject reasons
    single = join(work, 'single')
    const run = await prepare(single)
    assert.equal(run.code, 0, run.stderr)
    schema = await loadSchema('image-text-box')
  })

  it('has front matter datasets reads: every part file, every column with its feature, the manifest rows', async () => {
    const manifest = await readManifest(single)
    assert.ok(manifest.shards.length > 1 && manifest.rejects.total > 0, 'the fixture gives several parts and rejects')
    const card = await readCard(single)
    assert.ok(isTurnkitCard(card) && card.split('\n')[1] === CARD_MARKER)
    const yaml = frontMatter(card)
    assert.equal(yaml.pretty_name, 'RefCOCO')
    assert.equal(yaml.license, 'other')
    assert.ok(yaml.tags.includes('turnkit'))
    assert.deepEqual(yaml.configs, [{ config_name: 'default', data_files: [{ split: 'train', path: manifest.shards.map((s) => s.file) }] }])
    assert.deepEqual(yaml.dataset_info.features, schema.fields.map((f) => expectedFeature(f.name, f.type)))
    assert.deepEqual(yaml.dataset_info.features.find((f) => f.name === 'image_jpeg'), { name: 'image_jpeg', dtype: 'binary' })
    assert.deepEqual(yaml.dataset_info.features.find((f) => f.name === 'token_ids'), { name: 'token_ids', list: { list: 'int32' } })
    assert.deepEqual(yaml.dataset_info.splits, [{ name: 'train', num_examples: manifest.rows }])
    assert.equal(yaml.dataset_info.download_size, manifest.shards.reduce((sum, s) => sum + s.bytes, 0))
    // The body names every column with its type, and the version.
    const columns = tableUnder(card, 'Columns')
    assert.deepEqual(columns.map((r) => r[0]), schema.fields.map((f) => `\`${f.name}\``))
    assert.deepEqual(columns.map((r) => r[1]), schema.fields.map((f) => `\`${f.type}\``))
    assert.ok(card.includes(manifest.version))
  })

  it('counts rows by split and by category as the rows say, and rejects by reason as the manifest does', async () => {
    const manifest = await readManifest(single)
    const card = await readCard(single)
    const bySplit = new Map<string, number>()
    const byCategory = new Map<string, Map<string, number>>()
    for await (const row of (await openDataset(single)).rows({ columns: ['split', 'category'] })) {
      const [split, category] = [row.split as string, row.category as string]
      bySplit.set(split, (bySplit.get(split) ?? 0) + 1)
      const counts = byCategory.get(category) ?? new Map<string, number>()
      counts.set(split, (counts.get(split) ?? 0) + 1)
      byCategory.set(category, counts)
    }
    assert.ok(bySplit.size > 1 && byCategory.size > 1)
    const splits = [...bySplit.keys()].sort()
    assert.deepEqual(tableUnder(card, 'Rows by split'), [...splits.map((s) => [s, String(bySplit.get(s))]), ['**all**', String(manifest.rows)]])
    assert.deepEqual(
      tableUnder(card, 'Rows by category'),
      [...byCategory.keys()].sort().map((c) => {
        const counts = byCategory.get(c)!
        return [c, ...splits.map((s) => String(counts.get(s) ?? 0)), String([...counts.values()].reduce((a, b) => a + b, 0))]
      }),
    )
    const rejects = tableUnder(card, 'Rejects').map((r) => [r[0]!.replace(/`/g, ''), Number(r[1])] as const)
    assert.deepEqual(Object.fromEntries(rejects), manifest.rejects.byCode)
  })

  it('is the same bytes from merged parts, from another folder and from a rerun, with no path, host or date in it', async () => {
    const reference = await readCard(single)
    const parts = [join(work, 'part0'), join(work, 'part1')]
    for (const [i, out] of parts.entries()) {
      const run = await prepare(out, '--part', `${i}/2`)
      assert.equal(run.code, 0, run.stderr)
      assert.ok(!existsSync(join(out, 'README.md')), 'a part of a build is no dataset yet: no card')
    }
    const merged = join(work, 'merged')
    const merge = await runCli(['merge', ...parts, '--out', merged])
    assert.equal(merge.code, 0, merge.stderr)
    assert.equal(await readCard(merged), reference)

    const elsewhere = join(await tempDir('card-elsewhere-'), 'deeper', 'ds')
    assert.equal((await prepareHere(elsewhere)).status, 'complete')
    assert.equal(await readCard(elsewhere), reference)
    for (const text of [work, elsewhere, hostname()]) assert.ok(!reference.includes(text), `the card names ${text}`)
    assert.doesNotMatch(reference, /\d{4}-\d\d-\d\dT\d\d/, 'the card holds a time stamp')

    const rerun = join(work, 'rerun')
    await cp(single, rerun, { recursive: true })
    await rm(join(rerun, 'README.md'))
    assert.equal((await prepareHere(rerun)).status, 'complete')
    assert.equal(await readCard(rerun), reference, 'a rerun writes the card again')
  })

  it('is not part of the version: verify passes with it, edited or without it, and the version stays', async () => {
    const { version } = await readManifest(single)
    const copy = join(work, 'verify-copy')
    await cp(single, copy, { recursive: true })
    const verify = await runCli(['verify', copy])
    assert.equal(verify.code, 0, verify.stderr)
    await writeFile(join(copy, 'README.md'), (await readCard(copy)) + '\nA note of mine.\n')
    assert.deepEqual(await verifyDataset(copy), [])
    await rm(join(copy, 'README.md'))
    assert.deepEqual(await verifyDataset(copy), [])
    // A dataset built again (over an edited card) has the same version and manifest, and turnkit's card back.
    await writeFile(join(copy, 'README.md'), (await readCard(single)).replace('## Terms', '## My terms'))
    assert.equal((await prepareHere(copy)).status, 'complete')
    assert.equal((await readManifest(copy)).version, version)
    assert.equal(await readFile(join(copy, 'manifest.json'), 'utf8'), await readFile(join(single, 'manifest.json'), 'utf8'))
    assert.equal(await readCard(copy), await readCard(single))
  })

  it("refuses a folder with only the user's README.md, and leaves the user's README.md in a build as it is", async () => {
    const mine = await tempDir('card-mine-')
    await writeFile(join(mine, 'README.md'), '# My notes\n')
    await assert.rejects(prepareHere(mine), /holds README\.md but no \.turnkit\/run\.json: .*nothing is overwritten/)
    assert.deepEqual(await readdir(mine), ['README.md'])
    assert.equal(await readFile(join(mine, 'README.md'), 'utf8'), '# My notes\n')

    const build = join(work, 'with-notes')
    await cp(single, build, { recursive: true })
    await writeFile(join(build, 'README.md'), '---\nlicense: mine\n---\n# My notes\n')
    const rerun = await prepare(build)
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.match(rerun.stderr, /README\.md is not a card turnkit wrote: left as it is/)
    assert.equal(await readFile(join(build, 'README.md'), 'utf8'), '---\nlicense: mine\n---\n# My notes\n')
  })

  it('counts the rows of units written before the card from their part files', async () => {
    const legacy = join(work, 'legacy')
    await cp(single, legacy, { recursive: true })
    for (const name of (await readdir(join(legacy, '.turnkit'))).filter((n) => n.startsWith('unit-'))) {
      const path = join(legacy, '.turnkit', name)
      const { counts: _, ...result } = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
      await writeFile(path, JSON.stringify(result) + '\n')
    }
    const merged = join(work, 'legacy-merged')
    await DatasetWriter.merge([legacy], merged, { note: () => undefined })
    assert.equal(await readCard(merged), await readCard(single))
  })
})

describe('the dataset card of rows of your own', () => {
  const schema: RecordSchema = {
    id: 'card-test',
    version: 1,
    description: 'Rows for the card test.',
    sortKey: 'key',
    fields: [
      { name: 'key', type: 'utf8', nullable: false, description: 'Key.' },
      { name: 'split', type: 'utf8', nullable: false, description: 'Split.' },
      { name: 'label', type: 'utf8', nullable: false, description: 'Label | with a pipe, <b>not bold</b>.' },
      { name: 'score', type: 'float64', nullable: true, unit: 's', description: 'Score.' },
      { name: 'mel', type: 'list<float32>', nullable: false, shape: [2, 2], description: 'A 2 x 2 matrix.' },
    ],
  }
  const row = (key: string, split: string, label: string) => ({ key, split, label, score: null, mel: new Float32Array(4) })

  it('writes labels that look like YAML, Markdown or object keys as text, and a pipeline name that needs quoting', async () => {
    const out = join(await tempDir('card-own-'), 'ds')
    const rows = [row('a', 'test', '__proto__'), row('b', 'test', ''), row('c', 'train', 'x | y'), row('d', 'train', 'yes'), row('e', 'train', 'yes')]
    await DatasetWriter.write(out, { pipeline: 'mine: yes', schema, settings: { n: 1 }, rows, shardRows: 2 })
    const card = await readCard(out)
    const yaml = frontMatter(card)
    assert.equal(yaml.pretty_name, 'mine: yes')
    assert.deepEqual(yaml.dataset_info.features.map((f) => f.name), schema.fields.map((f) => f.name))
    assert.deepEqual(yaml.configs![0]!.data_files[0]!.path, ['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet'])
    assert.deepEqual(tableUnder(card, 'Rows by label'), [
      ['*(empty)*', '1', '0', '1'],
      ['__proto__', '1', '0', '1'],
      ['x \\| y', '0', '1', '1'],
      ['yes', '0', '2', '2'],
    ])
    assert.ok(card.includes('Label \\| with a pipe, &lt;b>not bold&lt;/b>.'))
    assert.ok(card.includes('np.asarray(row["mel"], np.float32).reshape(2, 2)'))
  })

  it('has no configuration to load when every input was rejected', async () => {
    const out = join(await tempDir('card-empty-'), 'ds')
    await DatasetWriter.write(out, { pipeline: 'mine', schema, settings: {}, rows: [], rejects: [{ key: 'a', source: null, stage: 'list', code: 'bad-row', message: 'no' }] })
    const yaml = frontMatter(await readCard(out))
    assert.equal(yaml.configs, undefined)
    assert.deepEqual(yaml.dataset_info.splits, [{ name: 'train', num_examples: 0 }])
    assert.deepEqual(tableUnder(await readCard(out), 'Rejects'), [['`bad-row`', '1', 'a metadata row with a missing or malformed id or number']])
  })
})
