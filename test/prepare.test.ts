// End to end through the real `turnkit` command: fixtures -> prepare -> verify / merge, with real ffmpeg,
// real Parquet, kill -9 and partitions.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir, writeFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { writeClothoFixture, writeAudioCapsFixture } from '../src/fixtures/audio-retrieval.js'
import type { FixtureExpectation } from '../src/fixtures/types.js'
import { sha256File } from '../src/dataset/hash.js'
import { openDataset } from '../src/dataset/dataset.js'
import { collect } from './helpers/tree.js'
import { tempDir } from './helpers/temp.js'
import { runCli, startCli } from './helpers/cli.js'
import { prepareCorpus } from '../src/cli/corpora.js'

interface ManifestJson {
  version: string
  rows: number
  inputs: number
  rejects: { total: number; byCode: Record<string, number> }
  shards: { file: string; rows: number; sha256: string }[]
}
const readManifestJson = async (dir: string): Promise<ManifestJson> => JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ManifestJson

/** sha256 of every file a dataset consumer sees (part files, manifest, ledger), by name. */
async function datasetFiles(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.parquet') || n === 'manifest.json' || n === 'rejects.jsonl').sort()
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await sha256File(join(dir, n))] as const)))
}

describe('turnkit prepare on a corrupt Clotho fixture', () => {
  let src = ''
  let expected: FixtureExpectation
  let work = ''
  let reference = ''
  before(async () => {
    work = await tempDir()
    src = join(work, 'clotho')
    expected = await writeClothoFixture(src, { clips: 8, seed: 3, corrupt: true, seconds: 3 })
    reference = join(work, 'reference')
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', reference, '--shard-rows', '4', '--workers', '2', '--max-reject-ratio', '1'])
    assert.equal(run.code, 0, run.stderr)
  })

  it('accounts for every input as a row or a ledger line with the expected reason', async () => {
    const manifest = await readManifestJson(reference)
    assert.equal(manifest.inputs, expected.inputs)
    assert.equal(manifest.rows, expected.rows)
    assert.equal(manifest.inputs, manifest.rows + manifest.rejects.total)
    assert.deepEqual(manifest.rejects.byCode, Object.fromEntries(Object.entries(expected.rejects).sort()))
    const ledger = (await readFile(join(reference, 'rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>)
    assert.equal(ledger.length, manifest.rejects.total)
    for (const line of ledger) {
      assert.deepEqual(Object.keys(line).sort(), ['code', 'key', 'message', 'source', 'stage'])
      assert.ok(!String(line.message).includes(src), `ledger message leaks an absolute path: ${line.message}`)
    }
  })

  it('writes rows sorted by key with one log-mel of frames x 128 per clip', async () => {
    const rows = await collect((await openDataset(reference)).rows())
    assert.equal(rows.length, expected.rows)
    const keys = rows.map((r) => r.key as string)
    assert.deepEqual(keys, [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
    for (const row of rows) {
      assert.equal((row.log_mel as Float32Array).length, (row.frames as number) * 128)
      assert.equal(row.frames, 1 + Math.floor((row.num_samples as number) / 1024))
      assert.equal((row.token_ids as Int32Array[])[0]![0], 101) // [CLS]
    }
  })

  it('exits 1 naming the top reasons when the reject ratio is above --max-reject-ratio', async () => {
    const out = join(work, 'strict')
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--shard-rows', '4', '--workers', '1', '--quiet'])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /more than --max-reject-ratio 0\.05: top reasons ffmpeg-failed 2/)
    assert.match(run.stderr, /rejects\.jsonl/)
  })

  it('gives byte-identical shards and the same version with --workers 1, 2 and inline', async () => {
    const want = await datasetFiles(reference)
    const one = join(work, 'workers-1')
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', one, '--shard-rows', '4', '--workers', '1', '--max-reject-ratio', '1', '--quiet'])
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(await datasetFiles(one), want)
    // Inline (the stage in this thread) is a library option; the CLI refuses --workers 0.
    const inline = join(work, 'workers-inline')
    await prepareCorpus('clotho', { src, out: inline, shardRows: 4, workers: 0 })
    assert.deepEqual(await datasetFiles(inline), want)
  })

  it('builds --part 0/2 and 1/2 separately and merges them into the same bytes as one run', async () => {
    const parts = [join(work, 'part0'), join(work, 'part1')]
    for (const [i, out] of parts.entries()) {
      const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--shard-rows', '4', '--part', `${i}/2`, '--max-reject-ratio', '1', '--quiet'])
      assert.equal(run.code, 0, run.stderr)
      assert.match(run.stdout, /turnkit merge/)
      assert.ok(!existsSync(join(out, 'manifest.json')), 'a part alone is not a dataset')
    }
    const merged = join(work, 'merged')
    const run = await runCli(['merge', ...parts, '--out', merged])
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(await datasetFiles(merged), await datasetFiles(reference))
  })

  it('takes the part index from JOB_COMPLETION_INDEX with --parts', async () => {
    const out = join(work, 'k8s-part')
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--shard-rows', '4', '--parts', '2', '--max-reject-ratio', '1', '--quiet'], { JOB_COMPLETION_INDEX: '1' })
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /part 1\/2/)
  })

  it('refuses to continue a run in the same --out with other settings, naming the setting', async () => {
    const out = join(work, 'settings')
    assert.equal((await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--shard-rows', '4', '--max-reject-ratio', '1', '--quiet'])).code, 0)
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--shard-rows', '4', '--n-mels', '64', '--max-reject-ratio', '1', '--quiet'])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /already holds a different build \(audio\.nMels 128 vs 64\)/)
  })

  it('verify passes on the dataset and exits 1 naming a part file with one flipped byte', async () => {
    const ok = await runCli(['verify', reference])
    assert.equal(ok.code, 0, ok.stderr)
    const copy = join(work, 'flipped')
    await runCli(['merge', reference, '--out', copy])
    const manifest = await readManifestJson(copy)
    const victim = join(copy, manifest.shards[0]!.file)
    const bytes = await readFile(victim)
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff
    await writeFile(victim, bytes)
    const bad = await runCli(['verify', copy])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, new RegExp(`${manifest.shards[0]!.file}: sha256 mismatch`))
  })
})

describe('turnkit prepare after kill -9', () => {
  it('keeps finished part files and produces the same version as an uninterrupted run', async () => {
    const work = await tempDir()
    const src = join(work, 'audiocaps')
    // 24 units of 2 clips: after the third kill point 16 units remain, far more than one poll interval of work
    // (clips go at ~130/s), so each kill lands mid-run.
    await writeAudioCapsFixture(src, { clips: 48, seed: 5, seconds: 4 })
    const args = (out: string) => ['prepare', 'audiocaps', '--src', src, '--out', out, '--shard-rows', '2', '--workers', '1', '--quiet']
    const whole = join(work, 'whole')
    assert.equal((await runCli(args(whole))).code, 0)
    const want = await datasetFiles(whole)

    // Kill at several moments: right after start, mid-run after the first unit lands, and again on the resumed run.
    const killed = join(work, 'killed')
    for (const waitForUnits of [0, 1, 8]) {
      const { child, done } = startCli(args(killed))
      const stateDir = join(killed, '.turnkit')
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        const units = existsSync(stateDir) ? (await readdir(stateDir)).filter((n) => n.startsWith('unit-')).length : 0
        if (units >= waitForUnits && (waitForUnits > 0 || existsSync(stateDir))) break
        await new Promise((r) => setTimeout(r, 5))
      }
      child.kill('SIGKILL')
      const result = await done
      assert.equal(result.signal, 'SIGKILL', `kill point ${waitForUnits}: the run ended on its own (exit ${result.code}): ${result.stderr}`)
      assert.ok(!existsSync(join(killed, 'manifest.json')) || waitForUnits > 0)
    }
    const resumed = await runCli(args(killed))
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stdout, /already done/)
    assert.deepEqual(await datasetFiles(killed), want)
    const leftovers = (await readdir(killed)).filter((n) => n.includes('.tmp'))
    assert.deepEqual(leftovers, [])
    await rm(killed, { recursive: true, force: true })
  })
})
