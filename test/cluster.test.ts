// Scale-out as users run it: the shipped deploy/slurm scripts on a real one-node Slurm cluster (4-task array, the
// dependent merge, one task killed with SIGKILL and its index resubmitted alone), merge's refusals, and the
// Kubernetes manifests checked structurally (no Kubernetes runs on these machines).
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { writeAudioCapsFixture } from '../src/fixtures/audio-retrieval.js'
import { tempDir } from './helpers/temp.js'
import { BIN, runCli } from './helpers/cli.js'
import { slurmUnavailable, startSlurm, type SlurmCluster } from './helpers/slurm.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SUBMIT = join(ROOT, 'deploy', 'slurm', 'submit.sh')
const TURNKIT = `${process.execPath} ${BIN}`

const versionOf = async (dir: string): Promise<string> => (JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { version: string }).version

async function singleRun(src: string, out: string, shardRows: number): Promise<string> {
  const run = await runCli(['prepare', 'audiocaps', '--src', src, '--out', out, '--shard-rows', String(shardRows), '--quiet'])
  assert.equal(run.code, 0, run.stderr)
  return await versionOf(out)
}

describe('merge refuses what is not one whole build', () => {
  let work: string
  let src: string
  before(async () => {
    work = await tempDir('merge-')
    src = join(work, 'corpus')
    await writeAudioCapsFixture(src, { clips: 16, seed: 3, seconds: 1 })
  })

  it('names the missing part indexes of an incomplete set and how to build them', async () => {
    const parts = [0, 1, 3].map((i) => join(work, `part-${i}`))
    for (const [n, i] of [0, 1, 3].entries()) {
      const run = await runCli(['prepare', 'audiocaps', '--src', src, '--out', parts[n]!, '--shard-rows', '2', '--parts', '4', '--quiet'], { SLURM_ARRAY_TASK_ID: String(i) })
      assert.equal(run.code, 0, run.stderr)
    }
    const merge = await runCli(['merge', ...parts, '--out', join(work, 'merged')])
    assert.notEqual(merge.code, 0)
    assert.match(merge.stderr, /part 2 of 4 is missing or unfinished \(units 2, 6 are in none/)
    assert.match(merge.stderr, /--part 2\/4/)
    assert.ok(!existsSync(join(work, 'merged', 'manifest.json')))
  })

  it('refuses parts of another run, naming the directory', async () => {
    const other = join(work, 'other-corpus')
    await writeAudioCapsFixture(other, { clips: 16, seed: 4, seconds: 1 })
    const foreign = join(work, 'foreign-part-2')
    const run = await runCli(['prepare', 'audiocaps', '--src', other, '--out', foreign, '--shard-rows', '2', '--part', '2/4', '--quiet'])
    assert.equal(run.code, 0, run.stderr)
    const parts = [join(work, 'part-0'), join(work, 'part-1'), foreign, join(work, 'part-3')]
    const merge = await runCli(['merge', ...parts, '--out', join(work, 'merged-foreign')])
    assert.notEqual(merge.code, 0)
    assert.ok(merge.stderr.includes(`${foreign} was built from another listing or with other settings`), merge.stderr)
  })
})

const slurmSkip = slurmUnavailable()
if (slurmSkip !== null) process.stdout.write(`# skipping the Slurm tests: ${slurmSkip}\n`)

describe('deploy/slurm on a real Slurm cluster (munge, slurmctld, slurmd on 127.0.0.1)', { skip: slurmSkip ?? false }, () => {
  let slurm: SlurmCluster
  let work: string
  let src: string
  let reference: string
  before(async () => {
    slurm = await startSlurm()
    work = await tempDir('slurm-run-')
    src = join(work, 'corpus')
    await writeAudioCapsFixture(src, { clips: 48, seed: 5, seconds: 4 })
    reference = await singleRun(src, join(work, 'single'), 3)
  })
  after(async () => await slurm?.stop())

  const submit = (args: string[]): { array: string; merge: string } => {
    const stdout = slurm.run('bash', [SUBMIT, ...args], { TURNKIT })
    const m = /prepare array job (\d+) .*merge job (\d+)/.exec(stdout)
    assert.ok(m, stdout)
    return { array: m[1]!, merge: m[2]! }
  }

  it('runs a 4-task array and the dependent merge: the version equals a single-process run', async () => {
    const out = join(work, 'array')
    const logs = join(work, 'logs')
    const jobs = submit(['--corpus', 'audiocaps', '--src', src, '--out', out, '--parts', '4', '--logs', logs, '--', '--shard-rows', '3', '--quiet'])
    const tasks = await slurm.waitFor(jobs.array)
    assert.deepEqual([...tasks.keys()].sort(), [0, 1, 2, 3].map((i) => `${jobs.array}_${i}`))
    assert.ok([...tasks.values()].every((s) => s === 'COMPLETED'), JSON.stringify([...tasks]))
    const merge = await slurm.waitFor(jobs.merge)
    assert.equal(merge.get(jobs.merge), 'COMPLETED', await readFile(join(logs, `turnkit-merge-${jobs.merge}.log`), 'utf8').catch(() => 'no log'))
    assert.equal(await versionOf(join(out, 'dataset')), reference)
    const names = (await readdir(logs)).sort()
    assert.deepEqual(names, [...[0, 1, 2, 3].map((i) => `turnkit-prepare-${jobs.array}_${i}.log`), `turnkit-merge-${jobs.merge}.log`].sort())
    assert.match(await readFile(join(logs, `turnkit-prepare-${jobs.array}_2.log`), 'utf8'), /part 2\/4/)
    assert.ok((await readFile(join(logs, `turnkit-merge-${jobs.merge}.log`), 'utf8')).includes(`/array/dataset OK: 16 part files, 48 rows, version ${reference}`))
  })

  it('a task killed with SIGKILL fails the array, its merge never runs, and resubmitting that index alone gives the same version', async () => {
    const out = join(work, 'killed')
    const logs = join(work, 'logs-killed')
    // --workers 1 and 12 units per task, so the task is still running when its first part file lands.
    const jobs = submit(['--corpus', 'audiocaps', '--src', src, '--out', out, '--parts', '4', '--logs', logs, '--', '--shard-rows', '1', '--workers', '1', '--quiet'])
    const state = join(out, 'part-1', '.turnkit')
    const deadline = Date.now() + 120_000
    let killed: string[] = []
    while (killed.length === 0 && Date.now() < deadline) {
      const units = existsSync(state) ? (await readdir(state)).filter((n) => /^unit-\d+\.json$/.test(n)) : []
      if (units.length >= 1) {
        const found = spawnSync('pgrep', ['-f', `${out}/part-1 `], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean)
        for (const pid of found) spawnSync('kill', ['-9', pid])
        killed = found
      } else await new Promise((r) => setTimeout(r, 25))
    }
    assert.ok(killed.length > 0, 'task 1 was never seen running')
    const tasks = await slurm.waitFor(jobs.array)
    assert.equal(tasks.get(`${jobs.array}_1`), 'FAILED')
    for (const i of [0, 2, 3]) assert.equal(tasks.get(`${jobs.array}_${i}`), 'COMPLETED')
    const units = (await readdir(state)).filter((n) => /^unit-\d+\.json$/.test(n)).length
    assert.ok(units >= 1 && units < 12, `part 1 was killed midway (${units} of 12 units)`)
    // afterok can no longer be met: the merge waits forever (DependencyNeverSatisfied) until cancelled.
    assert.match(slurm.run('scontrol', ['show', 'job', jobs.merge]), /JobState=PENDING.*|Reason=DependencyNeverSatisfied/)
    assert.ok(!existsSync(join(out, 'dataset', 'manifest.json')))
    slurm.run('scancel', [jobs.merge])
    const again = submit(['--corpus', 'audiocaps', '--src', src, '--out', out, '--parts', '4', '--index', '1', '--logs', logs, '--', '--shard-rows', '1', '--workers', '1', '--quiet'])
    const retried = await slurm.waitFor(again.array)
    assert.deepEqual([...retried.entries()], [[`${again.array}_1`, 'COMPLETED']])
    assert.equal((await slurm.waitFor(again.merge)).get(again.merge), 'COMPLETED')
    assert.equal(await versionOf(join(out, 'dataset')), await singleRun(src, join(work, 'single-1'), 1))
  })
})

describe('deploy/kubernetes manifests (checked structurally: Kubernetes cannot run here)', () => {
  const dir = join(ROOT, 'deploy', 'kubernetes')
  const load = async (name: string): Promise<Record<string, unknown>[]> =>
    parseAllDocuments(await readFile(join(dir, name), 'utf8')).map((doc) => {
      assert.deepEqual(doc.errors, [], `${name} parses`)
      return doc.toJS() as Record<string, unknown>
    })
  type Container = { command?: string[]; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[]; envFrom?: { secretRef?: { name: string } }[]; resources?: { requests?: Record<string, string>; limits?: Record<string, string> }; image?: string }
  const podOf = (job: Record<string, unknown>): { containers: Container[]; restartPolicy?: string } =>
    ((job.spec as { template: { spec: { containers: Container[]; restartPolicy?: string } } }).template.spec)

  it('prepare is an Indexed Job running turnkit prepare --parts N into s3:// with credentials from a Secret', async () => {
    const [job] = await load('prepare-job.yaml')
    assert.equal(job!.kind, 'Job')
    const spec = job!.spec as { completionMode: string; completions: number; parallelism: number; backoffLimitPerIndex: number }
    assert.equal(spec.completionMode, 'Indexed')
    assert.ok(Number.isInteger(spec.completions) && spec.completions > 0)
    assert.ok(spec.parallelism > 0 && spec.parallelism <= spec.completions)
    assert.ok(spec.backoffLimitPerIndex >= 1)
    const pod = podOf(job!)
    assert.equal(pod.restartPolicy, 'Never') // backoffLimitPerIndex needs Never
    const [container] = pod.containers
    const argv = [...(container!.command ?? []), ...(container!.args ?? [])].join(' ')
    assert.match(argv, /turnkit prepare \S+ --src \S+ --out s3:\/\/\S+\/part-\$\(JOB_COMPLETION_INDEX\) --parts \S+/)
    const parts = /--parts (\S+)/.exec(argv)![1]!
    assert.ok(parts === String(spec.completions) || /\$\(TURNKIT_PARTS\)/.test(parts))
    if (parts !== String(spec.completions)) assert.equal(container!.env!.find((e) => e.name === 'TURNKIT_PARTS')!.value, String(spec.completions))
    assert.ok(container!.envFrom?.some((e) => e.secretRef?.name === 'turnkit-s3'), 'credentials from the turnkit-s3 Secret')
    assert.ok(container!.resources?.requests?.cpu && container!.resources.requests.memory)
    assert.match(argv, new RegExp(`--workers ${container!.resources!.requests!.cpu}`))
  })

  it('merge is a Job over the same N parts, and the Secret names the AWS variables the SDK reads', async () => {
    const [job] = await load('merge-job.yaml')
    const [container] = podOf(job!).containers
    const argv = [...(container!.command ?? []), ...(container!.args ?? [])].join(' ')
    assert.match(argv, /turnkit merge/)
    const [prepare] = await load('prepare-job.yaml')
    const n = (prepare!.spec as { completions: number }).completions
    for (let i = 0; i < n; i++) assert.ok(argv.includes(`/part-${i}`), `merge lists part ${i}`)
    assert.match(argv, /--out s3:\/\/\S+\/dataset/)
    const [secret] = await load('secret.example.yaml')
    assert.equal(secret!.kind, 'Secret')
    assert.deepEqual(Object.keys(secret!.stringData as object).sort(), ['AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY'])
  })

  it('the image recipe installs with npm ci only and runs the turnkit bin', async () => {
    const dockerfile = await readFile(join(ROOT, 'deploy', 'Dockerfile'), 'utf8')
    assert.match(dockerfile, /^FROM node:20/m)
    assert.match(dockerfile, /RUN npm ci\b/)
    assert.doesNotMatch(dockerfile, /apt-get|pip /)
    assert.match(dockerfile, /ENTRYPOINT \["npx", "--no-install", "turnkit"\]|ENTRYPOINT \["node", "\/opt\/turnkit\/bin\/turnkit.js"\]/)
  })
})
