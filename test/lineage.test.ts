// `turnkit lineage` on a real (tiny) training run: every dataset listed with the version and part files recorded at
// training start and checked; a dataset rebuilt after training is flagged as changed (naming the part file), one
// damaged in place as damaged, one deleted as missing; a checkpoint folder alone says which data made it.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Lineage } from '../src/train/lineage.js'
import { checkSourceIdLeaks } from '../src/train/leaks.js'
import { openDataset } from '../src/dataset/dataset.js'
import { tempDir } from './helpers/temp.js'
import { runCli } from './helpers/cli.js'

const CPU = { TURNKIT_BACKEND: 'cpu' }

async function lineage(path: string): Promise<{ code: number | null; lineage: Lineage; text: string }> {
  const json = await runCli(['lineage', path, '--json'])
  const text = await runCli(['lineage', path])
  assert.equal(json.code, text.code, text.stderr)
  return { code: json.code, lineage: JSON.parse(json.stdout) as Lineage, text: text.stdout }
}

describe('turnkit lineage', () => {
  let work = ''
  let run = ''
  const data: Record<string, string> = {}
  before(async () => {
    work = await tempDir('lineage-')
    for (const [corpus, extra] of [['refcoco', ['--clips', '6']], ['clotho', ['--clips', '6', '--seconds', '3']]] as const) {
      assert.equal((await runCli(['fixtures', corpus, '--out', join(work, corpus), ...extra])).code, 0)
      data[corpus] = join(work, `${corpus}-ds`)
      const prepared = await runCli(['prepare', corpus, '--src', join(work, corpus), '--out', data[corpus]!, '--shard-rows', '4', '--quiet'])
      assert.equal(prepared.code, 0, prepared.stderr)
    }
    const config = join(work, 'small.json')
    await writeFile(config, JSON.stringify({ dModel: 16, imageSize: 32, backboneChannels: [8, 16], codebookSize: 16, domainDModel: 16 }))
    run = join(work, 'run')
    const trained = await runCli(['train', '--source', data.refcoco!, '--intermediate', data.clotho!, '--out', run, '--preset', 'tiny', '--config', config,
      '--epochs', '1', '--batch', '4', '--classifier-epochs', '0', '--no-adaptive-sampling', '--checkpoint-steps', '1'], CPU)
    assert.equal(trained.code, 0, trained.stderr)
  })

  it('lists every dataset with its recorded version and part files, all unchanged: exit 0', async () => {
    const { code, lineage: l, text } = await lineage(run)
    assert.equal(code, 0, text)
    assert.deepEqual(l.entries.filter((e) => !e.role.startsWith('eval:')).map((e) => [e.role, e.status]), [['source', 'ok'], ['intermediate', 'ok']])
    const manifest = JSON.parse(await readFile(join(data.clotho!, 'manifest.json'), 'utf8')) as { version: string; rows: number; shards: unknown[] }
    const intermediate = l.entries[1]!
    assert.deepEqual([intermediate.location, intermediate.version, intermediate.rows, intermediate.parts], [data.clotho, manifest.version, manifest.rows, manifest.shards.length])
    assert.match(text, /every dataset is there, unchanged/)
  })

  it('eval checks its dataset against the training data by source id and writes what it found beside the scores', async () => {
    assert.equal((await runCli(['fixtures', 'vggss', '--out', join(work, 'vggss'), '--clips', '4'])).code, 0)
    data.vggss = join(work, 'vggss-ds')
    assert.equal((await runCli(['prepare', 'vggss', '--src', join(work, 'vggss'), '--out', data.vggss, '--quiet'])).code, 0)
    const evaluated = await runCli(['eval', '--run', run, '--data', data.vggss], CPU)
    assert.equal(evaluated.code, 0, evaluated.stderr)
    assert.match(evaluated.stderr, /eval: no source id of .*vggss-ds is in the training data/)
    const report = JSON.parse(await readFile(join(run, 'eval', 'vggss', 'overlap.json'), 'utf8')) as { leak: boolean; by: string[] }
    assert.deepEqual([report.leak, report.by], [false, ['source-id']])
    // The same check finds a YouTube id that an AudioCaps training set shares with the evaluation set.
    const [first] = await (await openDataset(data.vggss)).keys()
    const ytid = /vggss\/test\/(.+)_\d+$/.exec(first!)![1]!
    const audiocaps = join(work, 'audiocaps')
    assert.equal((await runCli(['fixtures', 'audiocaps', '--out', audiocaps, '--clips', '4', '--seconds', '2'])).code, 0)
    const csv = await readFile(join(audiocaps, 'train.csv'), 'utf8')
    const [, someId, start] = csv.split('\n')[1]!.split(',')
    await writeFile(join(audiocaps, 'train.csv'), `${csv.trimEnd()}\n999999,${ytid},${start},a clip cut from the evaluation video\n`)
    await cp(join(audiocaps, 'audio', 'train', `${someId}.wav`), join(audiocaps, 'audio', 'train', `${ytid}.wav`))
    data.audiocaps = join(work, 'audiocaps-ds')
    assert.equal((await runCli(['prepare', 'audiocaps', '--src', audiocaps, '--out', data.audiocaps, '--quiet'])).code, 0)
    const lines: string[] = []
    const leaks = await checkSourceIdLeaks([data.refcoco!, data.audiocaps], data.vggss, {}, (line) => lines.push(line))
    assert.equal(leaks.leak, true)
    assert.deepEqual(lines, [`LEAK: 1 items of ${data.vggss} share a source id with 1 of ${data.audiocaps}, a training dataset (turnkit overlap lists them)`])
  })

  it('a checkpoint folder and best/ alone name the same data', async () => {
    const step = (await readdir(join(run, 'checkpoints'))).find((n) => n.startsWith('step-'))!
    const alone = join(work, 'copied-checkpoint')
    await cp(join(run, 'checkpoints', step), alone, { recursive: true })
    const fromRun = (await lineage(run)).lineage.entries.filter((e) => !e.role.startsWith('eval:'))
    for (const path of [alone, join(run, 'best')]) {
      const { code, lineage: l } = await lineage(path)
      assert.equal(code, 0)
      assert.deepEqual(l.entries, fromRun)
    }
  })

  it('flags a dataset rebuilt after training as changed, naming the part file that differs: exit 1', async () => {
    const backup = join(work, 'clotho-backup')
    await cp(data.clotho!, backup, { recursive: true })
    try {
      // The raw corpus changes (one caption), and the dataset is rebuilt in place by the same command.
      const csv = join(work, 'clotho', 'clotho_captions_development.csv')
      const text = await readFile(csv, 'utf8')
      await writeFile(csv, text.replace(/^([^,\n]+\.wav),"?[^,\n"]*"?/m, '$1,a caption written after training'))
      assert.notEqual(await readFile(csv, 'utf8'), text, 'the caption was edited')
      await rm(data.clotho!, { recursive: true })
      const rebuilt = await runCli(['prepare', 'clotho', '--src', join(work, 'clotho'), '--out', data.clotho!, '--shard-rows', '4', '--quiet'])
      assert.equal(rebuilt.code, 0, rebuilt.stderr)
      const { code, lineage: l, text: out } = await lineage(run)
      assert.equal(code, 1)
      const entry = l.entries.find((e) => e.role === 'intermediate')!
      assert.equal(entry.status, 'changed')
      assert.match(entry.problems[0]!, /^version is now sha256:/)
      assert.ok(entry.problems.some((p) => /^part-\d{5}\.parquet: other bytes/.test(p)), entry.problems.join('\n'))
      assert.equal(l.entries.find((e) => e.role === 'source')!.status, 'ok')
      assert.match(out, /intermediate: .*\n {4}sha256:\S+, \d+ rows in \d+ part files: changed/)
    } finally {
      await rm(data.clotho!, { recursive: true, force: true })
      await cp(backup, data.clotho!, { recursive: true })
    }
  })

  it('flags a part file damaged in place, and a dataset deleted', async () => {
    const part = join(data.refcoco!, 'part-00000.parquet')
    const bytes = await readFile(part)
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff
    await writeFile(part, bytes)
    const damaged = await lineage(run)
    assert.equal(damaged.code, 1)
    const source = damaged.lineage.entries.find((e) => e.role === 'source')!
    assert.equal(source.status, 'damaged')
    assert.ok(source.problems.some((p) => p.includes('part-00000.parquet')), source.problems.join('\n'))
    await rm(data.refcoco!, { recursive: true })
    const gone = (await lineage(run)).lineage.entries.find((e) => e.role === 'source')!
    assert.equal(gone.status, 'missing')
  })
})
