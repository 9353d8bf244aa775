// `turnkit diff` through the real command on real datasets: itself, one caption changed in the raw corpus, another
// --n-mels, one clip removed (its key gone from the rows, a ledger line added), and datasets of two record kinds.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeAudioCapsFixture } from '../src/fixtures/audio-retrieval.js'
import { writeRefCocoFixture } from '../src/fixtures/grounding.js'
import { openDataset } from '../src/dataset/dataset.js'
import type { DatasetDiff } from '../src/dataset/diff.js'
import { tempDir } from './helpers/temp.js'
import { runCli } from './helpers/cli.js'

async function prepare(src: string, out: string, ...flags: string[]): Promise<void> {
  const run = await runCli(['prepare', 'audiocaps', '--src', src, '--out', out, '--shard-rows', '4', '--max-reject-ratio', '1', '--quiet', ...flags])
  assert.equal(run.code, 0, run.stderr)
}

async function diff(a: string, b: string): Promise<{ code: number | null; diff: DatasetDiff; text: string }> {
  const json = await runCli(['diff', a, b, '--json'])
  const text = await runCli(['diff', a, b])
  assert.equal(text.code, json.code, text.stderr)
  return { code: json.code, diff: JSON.parse(json.stdout) as DatasetDiff, text: text.stdout }
}

describe('turnkit diff', () => {
  let work: string
  let src: string
  let base: string
  before(async () => {
    work = await tempDir('diff-')
    src = join(work, 'corpus')
    await writeAudioCapsFixture(src, { clips: 10, seed: 21, seconds: 1 })
    base = join(work, 'base')
    await prepare(src, base)
  })

  it('says a dataset is identical to itself and exits 0', async () => {
    const { code, diff: d, text } = await diff(base, base)
    assert.equal(code, 0)
    assert.equal(d.identical, true)
    assert.match(text, /identical: same version/)
  })

  it('after one caption changed in the raw corpus: exactly that key changed, in its text columns', async () => {
    const edited = join(work, 'corpus-caption')
    await cp(src, edited, { recursive: true })
    const csv = (await readFile(join(edited, 'train.csv'), 'utf8')).split('\n')
    const [id, ytid, start] = csv[1]!.split(',')
    csv[1] = [id, ytid, start, 'a completely different caption about a violin'].join(',')
    await writeFile(join(edited, 'train.csv'), csv.join('\n'))
    const out = join(work, 'caption')
    await prepare(edited, out)
    const key = (await (await openDataset(out)).keys()).find((k) => k.includes(ytid!))!
    const { code, diff: d, text } = await diff(base, out)
    assert.equal(code, 1)
    assert.deepEqual(d.settings, [])
    assert.deepEqual(d.rows.onlyInA, [])
    assert.deepEqual(d.rows.onlyInB, [])
    assert.deepEqual(d.rows.changed.map((c) => c.key), [key])
    assert.ok(d.rows.changed[0]!.columns.includes('captions') && d.rows.changed[0]!.columns.includes('token_ids'), d.rows.changed[0]!.columns.join())
    assert.ok(!d.rows.changed[0]!.columns.includes('log_mel'))
    assert.equal(d.rows.same, 9)
    assert.match(text, new RegExp(`changed \\(1\\):\\n  ${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*captions`))
  })

  it('after --n-mels 64: the setting is named, old -> new, and every row changed its log-mel', async () => {
    const out = join(work, 'mels64')
    await prepare(src, out, '--n-mels', '64')
    const { code, diff: d, text } = await diff(base, out)
    assert.equal(code, 1)
    const change = d.settings.find((c) => /nMels$/.test(c.path))
    assert.ok(change, JSON.stringify(d.settings))
    assert.deepEqual([change.a, change.b], [128, 64])
    assert.equal(d.rows.changed.length, 10)
    assert.ok(d.rows.changed.every((c) => c.columns.includes('log_mel') && c.columns.includes('n_mels')))
    assert.match(text, new RegExp(`${change.path.replace('.', '\\.')}: 128 -> 64`))
  })

  it('after removing a clip: one key only in A, and the ledger shows its missing-file line', async () => {
    const edited = join(work, 'corpus-removed')
    await cp(src, edited, { recursive: true })
    const ytid = (await readFile(join(edited, 'train.csv'), 'utf8')).split('\n')[2]!.split(',')[1]!
    await rm(join(edited, 'audio', 'train', `${ytid}.wav`))
    const out = join(work, 'removed')
    await prepare(edited, out)
    const { code, diff: d, text } = await diff(base, out)
    assert.equal(code, 1)
    assert.equal(d.rows.onlyInA.length, 1)
    assert.ok(d.rows.onlyInA[0]!.includes(ytid))
    assert.deepEqual(d.rows.onlyInB, [])
    assert.deepEqual(d.rows.changed, [])
    assert.deepEqual(d.ledger.byCode, [{ code: 'missing-file', a: 0, b: 1 }])
    assert.equal(d.ledger.changes.length, 1)
    assert.equal(d.ledger.changes[0]!.a, null)
    assert.equal(d.ledger.changes[0]!.b!.code, 'missing-file')
    assert.match(text, /ledger by reason \(1\):\n {2}missing-file: 0 -> 1/)
  })

  it('refuses datasets of two record kinds, naming both', async () => {
    const images = join(work, 'refcoco-src')
    await writeRefCocoFixture(images, { clips: 3, seed: 2, width: 160, height: 120 })
    const grounding = join(work, 'refcoco')
    const run = await runCli(['prepare', 'refcoco', '--src', images, '--out', grounding, '--quiet', '--max-reject-ratio', '1'])
    assert.equal(run.code, 0, run.stderr)
    const r = await runCli(['diff', base, grounding])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /holds audio-text records and .* holds image-text-box: diff compares datasets of one record kind/)
  })
})
