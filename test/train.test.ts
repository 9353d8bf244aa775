// The trainer end to end through the real `turnkit` command, on the cpu backend: exact resume after kill -9,
// the run directory, and the compatibility check.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { runCli, startCli } from './helpers/cli.js'

const CPU = { TURNKIT_BACKEND: 'cpu' }

/** stage-2 lines of a run's metrics.jsonl, in order. */
async function turnLosses(run: string): Promise<{ step: number; losses: Record<string, number> }[]> {
  const lines = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).split('\n').filter((l) => l.includes('"stage":"turn"'))
  return lines.map((l) => JSON.parse(l) as { step: number; losses: Record<string, number> }).map(({ step, losses }) => ({ step, losses }))
}

describe('turnkit train', () => {
  let work = ''
  let source = ''
  let intermediate = ''
  let modelConfig = ''
  before(async () => {
    work = await tempDir()
    source = join(work, 'refcoco-ds')
    intermediate = join(work, 'clotho-ds')
    for (const [corpus, out, extra] of [['refcoco', source, ['--clips', '8']], ['clotho', intermediate, ['--clips', '8', '--seconds', '3']]] as const) {
      assert.equal((await runCli(['fixtures', corpus, '--out', join(work, corpus), ...extra])).code, 0)
      const prepared = await runCli(['prepare', corpus, '--src', join(work, corpus), '--out', out, '--quiet'])
      assert.equal(prepared.code, 0, prepared.stderr)
    }
    modelConfig = join(work, 'small.json')
    await writeFile(modelConfig, JSON.stringify({ dModel: 16, imageSize: 32, backboneChannels: [8, 16], codebookSize: 16, domainDModel: 16 }))
  })

  const trainArgs = (out: string): string[] => [
    'train', '--source', source, '--intermediate', intermediate, '--out', out, '--preset', 'tiny', '--config', modelConfig,
    '--epochs', '7', '--batch', '4', '--classifier-epochs', '1', '--checkpoint-steps', '2',
  ]

  it('resumes after kill -9 and takes exactly the losses of an uninterrupted run (cpu backend)', async () => {
    const whole = join(work, 'whole')
    const uninterrupted = await runCli(trainArgs(whole), CPU)
    assert.equal(uninterrupted.code, 0, uninterrupted.stderr)
    const want = await turnLosses(whole)
    assert.equal(want.length, 28) // 16 refs / batch 4 = 4 steps per epoch, 7 epochs

    const killed = join(work, 'killed')
    const { child, done } = startCli(trainArgs(killed), CPU)
    const deadline = Date.now() + 120_000
    // Kill once a checkpoint exists and the run is past it, mid-epoch.
    while (Date.now() < deadline) {
      const lines = existsSync(join(killed, 'metrics.jsonl')) ? await turnLosses(killed).catch(() => []) : []
      if (lines.length >= 7) break
      await new Promise((r) => setTimeout(r, 50))
    }
    child.kill('SIGKILL')
    assert.equal((await done).signal, 'SIGKILL')
    const latest = JSON.parse(await readFile(join(killed, 'checkpoints', 'latest.json'), 'utf8')) as { step: number }
    assert.ok(latest.step >= 4 && latest.step <= 8, `checkpoint at step ${latest.step}`)

    const resumed = await runCli(['train', '--resume', killed], CPU)
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stderr, new RegExp(`resumed from step ${latest.step}`))
    const got = await turnLosses(killed)
    assert.deepEqual(got.map((l) => l.step), want.map((l) => l.step))
    // The 20+ losses after the resume point equal the uninterrupted run's, every term, bit for bit.
    assert.ok(want.length - latest.step >= 20)
    assert.deepEqual(got.slice(latest.step), want.slice(latest.step))
    assert.deepEqual(got, want)
  })

  it('writes the run directory: config with dataset versions, weights, checkpoints and best/', async () => {
    const run = join(work, 'whole')
    const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8')) as { datasets: { source: { version: string } }; backend: string; model: { vocabSize: number } }
    const manifest = JSON.parse(await readFile(join(source, 'manifest.json'), 'utf8')) as { version: string }
    assert.equal(config.datasets.source.version, manifest.version)
    assert.equal(config.backend, 'cpu')
    const names = await readdir(run)
    for (const name of ['best', 'checkpoints', 'config.json', 'metrics.jsonl', 'weights-intermediate.jsonl', 'weights-source.jsonl', 'vocab-map.json']) assert.ok(names.includes(name), name)
    assert.ok(existsSync(join(run, 'best', 'model', 'model.json')))
    const weights = (await readFile(join(run, 'weights-source.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { weight: number }).weight)
    assert.ok(Math.abs(Math.max(...weights) / Math.min(...weights) - 5) < 1e-9, 'largest weight is k = 5 times the smallest')
  })

  it('--micro-batch 2 takes the same steps as the whole batch (gradients summed over slices)', async () => {
    const sliced = join(work, 'micro')
    const args = trainArgs(sliced).map((a) => (a === '7' ? '1' : a))
    const run = await runCli([...args, '--micro-batch', '2'], CPU)
    assert.equal(run.code, 0, run.stderr)
    const config = JSON.parse(await readFile(join(sliced, 'config.json'), 'utf8')) as { train: { microBatch: number } }
    assert.equal(config.train.microBatch, 2)
    const want = (await turnLosses(join(work, 'whole'))).slice(0, 4)
    const got = await turnLosses(sliced)
    assert.equal(got.length, 4)
    // The schedules differ (1 epoch vs 7), so compare the first step only exactly in structure and closely in value.
    for (const [term, value] of Object.entries(want[0]!.losses)) {
      assert.ok(Math.abs(got[0]!.losses[term]! - value) <= 1e-5 * Math.max(1, Math.abs(value)), `${term}: ${got[0]!.losses[term]} vs ${value}`)
    }
  })

  it('--replicas 2 takes exactly the steps of its micro-batches on one thread, every loss bit for bit', async () => {
    const parallel = join(work, 'replicas')
    const args = trainArgs(parallel).map((a) => (a === '7' ? '1' : a))
    const run = await runCli([...args, '--micro-batch', '2', '--replicas', '2'], CPU)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /2 replicas of the model \(worker threads\), one per core/)
    const config = JSON.parse(await readFile(join(parallel, 'config.json'), 'utf8')) as { train: { replicas: number } }
    assert.equal(config.train.replicas, 2)
    const want = await turnLosses(join(work, 'micro')) // the test above: --micro-batch 2 on one thread
    assert.equal(want.length, 4)
    assert.deepEqual(await turnLosses(parallel), want)
  })

  it('skips the update on a non-finite loss and stops after --max-non-finite in a row', async () => {
    const out = join(work, 'diverged')
    // lr 1e30 sends the weights to infinity after the first update: every later loss is NaN.
    const run = await runCli(['train', '--source', source, '--intermediate', intermediate, '--out', out, '--preset', 'tiny', '--config', modelConfig,
      '--epochs', '3', '--batch', '4', '--classifier-epochs', '0', '--no-adaptive-sampling', '--lr', '1e30', '--max-non-finite', '2',
      // A checkpoint after step 0 keeps the run (a new run that fails before its first checkpoint is removed).
      '--checkpoint-steps', '1'], { TURNKIT_BACKEND: 'wasm' })
    assert.equal(run.code, 1)
    assert.match(run.stderr, /step 1: non-finite loss .*update skipped \(1 in a row\)/)
    assert.match(run.stderr, /2 non-finite losses in a row at step 2: lower --lr, set --clip-norm, or check the data \(the last good checkpoint is named in/)
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { step: number; skipped?: boolean })
    assert.deepEqual(lines.map((l) => [l.step, l.skipped === true]), [[0, false], [1, true], [2, true]])
  })

  it('refuses an audio dataset built with n_mels 64, naming n_mels', async () => {
    const mel64 = join(work, 'clotho-64')
    assert.equal((await runCli(['prepare', 'clotho', '--src', join(work, 'clotho'), '--out', mel64, '--n-mels', '64', '--quiet'])).code, 0)
    const run = await runCli(['train', '--source', source, '--intermediate', mel64, '--out', join(work, 'refused'), '--preset', 'tiny'], CPU)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /n_mels is 64 in the dataset, the model expects 128/)
  })
})
