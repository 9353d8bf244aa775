// The promises against hostile and damaged input, one test per thing a hostile tester tried: links out of the
// corpus, a user's own files in --out, absent corpora, damaged parts, ledgers, two concurrent runs, full and
// read-only disks, interrupts, hostile text, split leaks, published-protocol fidelity and the Flickr-SoundNet
// download layout. Every test fails on the code before these were fixed.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { runCli, startCli } from './helpers/cli.js'
import { writeAudioCapsFixture, writeClothoFixture } from '../src/fixtures/audio-retrieval.js'
import { writeRefCocoFixture } from '../src/fixtures/grounding.js'
import { CORPORA, CORPUS_NAMES, prepareCorpus } from '../src/cli/corpora.js'
import { DatasetWriter } from '../src/dataset/writer.js'
import { lockDir, removeAbandonedLock, type DirLock, type LockHolder } from '../src/dataset/out-dir.js'
import { openStore } from '../src/dataset/storage.js'
import { loadSchema } from '../src/dataset/schema.js'
import { openDataset } from '../src/dataset/dataset.js'
import { sha256File } from '../src/dataset/hash.js'
import { scoreItems } from '../src/train/score.js'
import { ConfigError } from '../src/config.js'

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T
type Manifest = { version: string; rows: number; inputs: number; leaks: { id: string; splits: string[]; keys: string[] }[]; rejects: { byCode: Record<string, number> } }
const ledger = async (dir: string): Promise<{ key: string; code: string; message: string }[]> =>
  (await readFile(join(dir, 'rejects.jsonl'), 'utf8')).trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))

describe('nothing escapes the corpus', () => {
  let outside = ''
  let corpus = ''
  before(async () => {
    const work = await tempDir('links-')
    outside = join(work, 'other')
    await writeClothoFixture(outside, { clips: 2, seed: 4, seconds: 1.5 })
    corpus = join(work, 'clotho')
    await writeClothoFixture(corpus, { clips: 2, seed: 5, seconds: 1.5 })
    // A clip that is a link to a good file outside, and a folder that is a link to one outside.
    const [outsideClip] = (await readdir(join(outside, 'development'))).filter((n) => n.endsWith('.wav'))
    await symlink(join(outside, 'development', outsideClip!), join(corpus, 'development', 'linked.wav'))
    await symlink(join(outside, 'development'), join(corpus, 'linkdir'))
    const csv = join(corpus, 'clotho_captions_development.csv')
    await writeFile(csv, (await readFile(csv, 'utf8')) + `linked.wav,a linked clip,,,,\n../linkdir/${outsideClip},through a linked folder,,,,\n`)
  })

  it('refuses a media file and a folder that are links out of the corpus as unsafe-path, never opening them', async () => {
    const out = join(await tempDir(), 'ds')
    await prepareCorpus('clotho', { src: corpus, out, workers: 0 })
    const unsafe = (await ledger(out)).filter((l) => l.code === 'unsafe-path')
    assert.deepEqual(unsafe.map((l) => [l.key, l.message]), [
      [`clotho/development/../linkdir/${(await readdir(join(outside, 'development'))).filter((n) => n.endsWith('.wav'))[0]}`, unsafe[0]!.message],
      ['clotho/development/linked.wav', 'development/linked.wav is a link to a file outside the corpus; not opened (--follow-symlinks allows links out of the corpus)'],
    ])
    assert.match(unsafe[0]!.message, /leaves the development\/ folder; not opened/)
  })

  it('refuses a metadata file that is a link out of the corpus with an error naming it', async () => {
    const hostile = join(await tempDir(), 'clotho')
    await cp(corpus, hostile, { recursive: true, verbatimSymlinks: true })
    await rm(join(hostile, 'clotho_captions_development.csv'))
    await writeFile(join(outside, 'secret.csv'), 'file_name,caption_1\nsecret.wav,not yours\n')
    await symlink(join(outside, 'secret.csv'), join(hostile, 'clotho_captions_development.csv'))
    const run = await runCli(['prepare', 'clotho', '--src', hostile, '--out', join(await tempDir(), 'ds'), '--quiet'])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /clotho_captions_development\.csv is a link to a file outside the corpus; not opened/)
  })

  it('follows links out of the corpus with --follow-symlinks, and records that in the settings', async () => {
    const out = join(await tempDir(), 'ds')
    const summary = await prepareCorpus('clotho', { src: corpus, out, workers: 0, followSymlinks: true })
    assert.equal(summary.rejects.byCode['unsafe-path'] ?? 0, 1) // only the ../ path, which leaves by its syntax
    assert.deepEqual((summary.manifest!.pipeline.settings.corpus as { followSymlinks: boolean }).followSymlinks, true)
  })
})

describe("nothing of the user's is overwritten", () => {
  let src = ''
  before(async () => {
    src = join(await tempDir('own-'), 'clotho')
    await writeClothoFixture(src, { clips: 2, seed: 6, seconds: 1.5 })
  })

  it("refuses an --out holding the user's own manifest.json, rejects.jsonl and part file, leaving them as they were", async () => {
    const out = await tempDir('mine-')
    await writeFile(join(out, 'manifest.json'), '{"mine": true}\n')
    await writeFile(join(out, 'rejects.jsonl'), 'my notes\n')
    await writeFile(join(out, 'part-00007.parquet'), 'my bytes')
    const before = await Promise.all(['manifest.json', 'rejects.jsonl', 'part-00007.parquet'].map((n) => sha256File(join(out, n))))
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--quiet'])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /holds manifest\.json, part-00007\.parquet, rejects\.jsonl but no \.turnkit\/run\.json: .*nothing is overwritten/)
    assert.deepEqual(await Promise.all(['manifest.json', 'rejects.jsonl', 'part-00007.parquet'].map((n) => sha256File(join(out, n)))), before)
    assert.deepEqual((await readdir(out)).sort(), ['manifest.json', 'part-00007.parquet', 'rejects.jsonl'])
  })

  it('refuses an --out holding any other file, naming it', async () => {
    const out = await tempDir('mine-')
    await writeFile(join(out, 'thesis.tex'), '\\documentclass{article}')
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--quiet'])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /holds files that are not a turnkit dataset \(thesis\.tex\)/)
  })

  it('refuses --out equal to --src or inside it, with exit 2', async () => {
    for (const out of [src, join(src, 'datasets', 'clotho')]) {
      const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--quiet'])
      assert.equal(run.code, 2, run.stderr)
      assert.match(run.stderr, /--out .* is (the corpus folder itself|inside the corpus folder) --src/)
    }
  })
})

describe('an absent or empty corpus is an error', () => {
  it('names every place it looked, for every corpus, when --src holds none of its metadata', async () => {
    const empty = await tempDir('empty-')
    for (const corpus of CORPUS_NAMES) {
      await assert.rejects(prepareCorpus(corpus, { src: empty, out: join(await tempDir(), 'ds'), workers: 0 }), (error: Error) => {
        assert.match(error.message, new RegExp(`^${corpus.replace('+', '\\+')}: no metadata in ${empty}: looked for \\S`), `${corpus}: ${error.message}`)
        return true
      })
    }
  })

  it('refuses a --src that does not exist or is a file, naming it', async () => {
    const work = await tempDir()
    await writeFile(join(work, 'a-file'), 'x')
    await assert.rejects(prepareCorpus('clotho', { src: join(work, 'no', 'such', 'dir'), out: join(work, 'o1') }), /no such folder: give --src the folder the corpus was downloaded to/)
    await assert.rejects(prepareCorpus('vggss', { src: join(work, 'a-file'), out: join(work, 'o2') }), /a-file is a file, not a folder/)
  })

  it('makes an unknown --split a usage error (exit 2) listing the splits the corpus has', async () => {
    const run = await runCli(['prepare', 'clotho', '--src', await tempDir(), '--out', join(await tempDir(), 'o'), '--split', 'foo'])
    assert.equal(run.code, 2)
    assert.match(run.stderr, /--split foo: clotho has no split 'foo'; its splits are development, validation, evaluation/)
    await assert.rejects(prepareCorpus('audiocaps', { src: '.', out: 'x', splits: ['tran'] }), (e: Error) => e instanceof ConfigError && /did you mean train\?/.test(e.message))
  })
})

describe('damaged parts', () => {
  let work = ''
  let src = ''
  let reference = ''
  let grounding = ''
  before(async () => {
    work = await tempDir('damaged-')
    src = join(work, 'clotho')
    await writeClothoFixture(src, { clips: 4, seed: 7, seconds: 1.5 })
    reference = join(work, 'reference')
    assert.equal((await runCli(['prepare', 'clotho', '--src', src, '--out', reference, '--shard-rows', '2', '--quiet'])).code, 0)
    const refcoco = join(work, 'refcoco')
    await writeRefCocoFixture(refcoco, { clips: 2, seed: 1, width: 96, height: 64 })
    grounding = join(work, 'refcoco-ds')
    await prepareCorpus('refcoco', { src: refcoco, out: grounding, workers: 0, stage: { image: { shortEdge: 32 } } })
  })

  it('rebuilds a part whose bytes changed when the same prepare runs again, saying which and why', async () => {
    const out = join(work, 'flipped')
    await cp(reference, out, { recursive: true })
    const part = join(out, 'part-00001.parquet')
    const bytes = await readFile(part)
    bytes[200] ^= 0xff
    await writeFile(part, bytes)
    assert.equal((await runCli(['verify', out])).code, 1)
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--shard-rows', '2', '--quiet'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /rebuilt part-00001\.parquet: sha256 mismatch/)
    assert.match(run.stdout, /units: 1 built, 1 already done/)
    assert.equal((await runCli(['verify', out])).code, 0)
    assert.equal((await readJson<Manifest>(join(out, 'manifest.json'))).version, (await readJson<Manifest>(join(reference, 'manifest.json'))).version)
  })

  it('refuses to train on a damaged or incomplete dataset, naming the file and the command that rebuilds it, and leaves no run folder', async () => {
    for (const damage of ['flip', 'delete'] as const) {
      const data = join(work, `train-${damage}`)
      await cp(reference, data, { recursive: true })
      const part = join(data, 'part-00000.parquet')
      if (damage === 'delete') await rm(part)
      else await writeFile(part, Buffer.concat([await readFile(part), Buffer.from([0])]))
      const out = join(work, `run-${damage}`)
      const run = await runCli(['train', '--source', grounding, '--intermediate', data, '--out', out, '--preset', 'tiny', '--max-steps', '1'], { TURNKIT_BACKEND: 'cpu' })
      assert.equal(run.code, 1, run.stderr)
      assert.match(run.stderr, new RegExp(`${data} is damaged: part-00000\\.parquet: (missing|\\d+ bytes, manifest says \\d+)`))
      assert.match(run.stderr, /rebuild it with the command that built it, .*: turnkit prepare clotho .*--src \S+clotho .*--out \S+reference/)
      assert.doesNotMatch(run.stderr, /unreachable|Unable to open file as blob/)
      assert.equal(existsSync(out), false, `${out} left behind`)
    }
  })
})

describe('the version names the whole result', () => {
  const reject = (key: string, code: 'ffmpeg-failed' | 'too-short') => ({ key, source: `${key}.wav`, stage: 'decode', code, message: code })

  it('differs between datasets with no rows but different rejects, and with the same rows but other ledgers', async () => {
    const schema = await loadSchema('audio-text')
    const write = async (rejects: ReturnType<typeof reject>[]) =>
      (await DatasetWriter.write(await tempDir(), { pipeline: 'clotho', schema, settings: {}, rows: [], rejects })).manifest!.version
    const a = await write([reject('a', 'ffmpeg-failed')])
    const b = await write([reject('a', 'too-short')])
    const c = await write([reject('a', 'ffmpeg-failed'), reject('b', 'ffmpeg-failed')])
    assert.equal(new Set([a, b, c]).size, 3)
  })

  it('makes verify (exit 1) catch an edited ledger line', async () => {
    const dir = await tempDir()
    await DatasetWriter.write(dir, { pipeline: 'clotho', schema: await loadSchema('audio-text'), settings: {}, rows: [], rejects: [reject('a', 'ffmpeg-failed')] })
    await writeFile(join(dir, 'rejects.jsonl'), (await readFile(join(dir, 'rejects.jsonl'), 'utf8')).replace('ffmpeg-failed', 'too-short'))
    const run = await runCli(['verify', dir])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /rejects\.jsonl: sha256 mismatch .*a line was edited, added or removed/)
  })
})

describe('one build per --out at a time', () => {
  it('refuses a prepare on an --out that a running process holds, naming it; takes over a lock whose process is gone; releases its own', async () => {
    const work = await tempDir('lock-')
    const src = join(work, 'clotho')
    await writeClothoFixture(src, { clips: 2, seed: 8, seconds: 1.5 })
    const out = join(work, 'ds')
    const args = ['prepare', 'clotho', '--src', src, '--out', out, '--workers', '1', '--quiet']
    assert.equal((await runCli(args)).code, 0)
    const lock = join(out, '.turnkit', 'lock')
    assert.equal(existsSync(lock), false, 'released when done')

    // Another build in progress: a live process on this host holds the lock.
    const holder = spawn('sleep', ['30'])
    try {
      await writeFile(lock, JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-12-01T10:00:00.000Z' }))
      const refused = await runCli(args)
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, new RegExp(`is being built by process ${holder.pid} on ${hostname()} since 2026-12-01T10:00:00.000Z \\(\\.turnkit/lock\\): wait for it to finish`))
    } finally {
      holder.kill()
    }
    // A lock left by a process that is gone (a pid no process has) is taken over.
    await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: '2026-01-01T00:00:00.000Z' }))
    const third = await runCli(args)
    assert.equal(third.code, 0, third.stderr)
    assert.match(third.stderr, /taking over the lock of process 4206649 on .*, which is no longer running/)
    assert.equal(existsSync(lock), false)
    // A lock its writer never filled (killed between creating and writing it: an empty file) is taken over too.
    await writeFile(lock, '')
    const fourth = await runCli(args)
    assert.equal(fourth.code, 0, fourth.stderr)
    assert.match(fourth.stderr, /taking over the lock of process \? on \?, which is no longer running/)
    assert.equal(existsSync(lock), false)
  })
})

describe('taking over an abandoned lock', () => {
  it('removes only the abandoned lock it read: one another process wrote since is put back', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, '.turnkit'))
    const lock = join(dir, '.turnkit', 'lock')
    const store = openStore(dir)
    const dead: LockHolder = { pid: 2 ** 22 + 12345, host: hostname(), since: '2026-01-01T00:00:00.000Z', token: 'dead' }
    const live: LockHolder = { pid: process.pid, host: hostname(), since: '2026-12-01T12:00:00.000Z', token: 'live' }
    // Judged abandoned from what `dead` wrote, but by now another build has taken it over and written its own.
    await writeFile(lock, JSON.stringify(live))
    await removeAbandonedLock(store, '.turnkit/lock', dead)
    assert.deepEqual(JSON.parse(await readFile(lock, 'utf8')), live, 'the live lock is in place')
    assert.deepEqual(await readdir(join(dir, '.turnkit')), ['lock'])
    await removeAbandonedLock(store, '.turnkit/lock', live) // still the one read: removed
    assert.deepEqual(await readdir(join(dir, '.turnkit')), [])
    await writeFile(lock, '')
    await removeAbandonedLock(store, '.turnkit/lock', null) // an empty lock read as nobody's, still empty: removed
    assert.deepEqual(await readdir(join(dir, '.turnkit')), [])
    await removeAbandonedLock(store, '.turnkit/lock', null) // already gone: nothing to do
  })

  it('two builds that find the same dead lock: one takes it, the other is refused naming the first', async () => {
    for (let round = 0; round < 5; round++) {
      const dir = await tempDir()
      await mkdir(join(dir, '.turnkit'))
      const lock = join(dir, '.turnkit', 'lock')
      await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: '2026-01-01T00:00:00.000Z', token: 'dead' }))
      const store = openStore(dir)
      const tries = await Promise.allSettled([lockDir(store, () => undefined), lockDir(store, () => undefined)])
      const held = tries.filter((t) => t.status === 'fulfilled')
      assert.equal(held.length, 1, `round ${round}: ${tries.map((t) => (t.status === 'rejected' ? String(t.reason) : 'held')).join(' | ')}`)
      const refused = tries.find((t) => t.status === 'rejected') as PromiseRejectedResult
      assert.match(String(refused.reason), new RegExp(`is being built by process ${process.pid} on ${hostname()}|another process took it first`))
      await (held[0] as PromiseFulfilledResult<DirLock>).value.release()
      assert.deepEqual(await readdir(join(dir, '.turnkit')), [], 'nothing left beside the lock')
    }
  })
})

describe('errors a person can act on', () => {
  let src = ''
  before(async () => {
    src = join(await tempDir('fs-'), 'clotho')
    await writeClothoFixture(src, { clips: 6, seed: 9, seconds: 4 })
  })

  it('says a full disk is full, naming the file and what to do (a 200 kB tmpfs as --out)', async (t) => {
    const mount = await tempDir('tmpfs-')
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', mount], { encoding: 'utf8' })
    if (mounted.status !== 0) {
      t.skip(`cannot mount a tmpfs here (${(mounted.stderr || mounted.error?.message || '').trim()}): the ENOSPC message is not tested`)
      return
    }
    try {
      const run = await runCli(['prepare', 'clotho', '--src', src, '--out', join(mount, 'ds'), '--shard-rows', '2', '--quiet'])
      assert.equal(run.code, 1)
      assert.match(run.stderr, new RegExp(`no space left on the device that holds ${mount}/ds/\\S+: free some space or choose an --out on another disk, then rerun the same command`))
    } finally {
      execFileSync('umount', [mount])
    }
  })

  it('says a read-only --out is read-only, and a path through a file is not a folder', async (t) => {
    const work = await tempDir('ro-')
    await writeFile(join(work, 'a-file'), 'x')
    const notDir = await runCli(['prepare', 'clotho', '--src', src, '--out', join(work, 'a-file', 'ds'), '--quiet'])
    assert.equal(notDir.code, 1)
    assert.match(notDir.stderr, /a-file\/ds: a part of this path is a file, not a folder/)
    const mount = join(work, 'ro')
    await mkdir(mount)
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', mount], { encoding: 'utf8' })
    if (mounted.status !== 0) {
      t.skip(`cannot mount a read-only tmpfs here (${(mounted.stderr || '').trim()}): the EROFS message is not tested`)
      return
    }
    try {
      const run = await runCli(['prepare', 'clotho', '--src', src, '--out', join(mount, 'ds'), '--quiet'])
      assert.equal(run.code, 1)
      assert.match(run.stderr, new RegExp(`${mount}/ds\\S* is on a read-only file system: choose an --out you can write to`))
    } finally {
      execFileSync('umount', [mount])
    }
  })

  it('says how to resume after SIGINT, and the same command then finishes the same dataset', async () => {
    const work = await tempDir('sigint-')
    const out = join(work, 'ds')
    const args = ['prepare', 'clotho', '--src', src, '--out', out, '--workers', '1', '--shard-rows', '1']
    const started = startCli(args)
    // Interrupt once a unit is done (its result record is on disk).
    for (let i = 0; i < 1500 && !(await readdir(join(out, '.turnkit')).then((n) => n.some((x) => x.startsWith('unit-')), () => false)); i++) await new Promise((r) => setTimeout(r, 20))
    started.child.kill('SIGINT')
    const stopped = await started.done
    assert.equal(stopped.code, 130, stopped.stderr)
    assert.match(stopped.stderr, /turnkit prepare: interrupted \(SIGINT\): rerun the same command to resume \(finished part files are kept\)/)
    assert.equal(existsSync(join(out, '.turnkit', 'lock')), false, 'the lock is released')
    const resumed = await runCli([...args, '--quiet'])
    assert.equal(resumed.code, 0, resumed.stderr)
    const whole = join(work, 'whole')
    assert.equal((await runCli([...args.slice(0, 5), whole, ...args.slice(6), '--quiet'])).code, 0)
    assert.equal((await readJson<Manifest>(join(out, 'manifest.json'))).version, (await readJson<Manifest>(join(whole, 'manifest.json'))).version)
  })
})

describe('text and split hygiene', () => {
  it('removes NUL, BEL and bidi controls from stored captions and counts them in the summary', async () => {
    const src = join(await tempDir('text-'), 'clotho')
    await writeClothoFixture(src, { clips: 1, seed: 10, seconds: 1.5 })
    const csv = join(src, 'clotho_captions_development.csv')
    const [header, row] = (await readFile(csv, 'utf8')).split('\n')
    const name = row!.split(',')[0]!
    await writeFile(csv, `${header}\n${name},a dog\u0000 barks\u0007,\u202Eevil reversed,plain,,\n`)
    const out = join(await tempDir(), 'ds')
    const run = await runCli(['prepare', 'clotho', '--src', src, '--out', out, '--quiet'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /texts: control or bidi characters removed from 2 captions or expressions/)
    const [stored] = await (async () => { const rows = []; for await (const r of (await openDataset(out)).rows({ columns: ['captions'] })) rows.push(r); return rows })()
    assert.deepEqual(stored!.captions, ['a dog barks', 'evil reversed', 'plain'])
  })

  it('lists a YouTube id in train.csv and test.csv in the summary and the manifest; reject keeps the test copy; error stops', async () => {
    const src = join(await tempDir('leak-'), 'audiocaps')
    await writeAudioCapsFixture(src, { clips: 5, seed: 11, seconds: 1.5 })
    const train = (await readFile(join(src, 'train.csv'), 'utf8')).trim().split('\n')
    const [id, ytid, start] = train[1]!.split(',')
    await writeFile(join(src, 'test.csv'), (await readFile(join(src, 'test.csv'), 'utf8')).trimEnd() + `\n${Number(id) + 5000},${ytid},${start},the same clip again\n`)
    await cp(join(src, 'audio', 'train', `${ytid}.wav`), join(src, 'audio', 'test', `${ytid}.wav`))
    const warn = join(await tempDir(), 'warn')
    const run = await runCli(['prepare', 'audiocaps', '--src', src, '--out', warn, '--quiet'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, new RegExp(`split leaks: 1 source item in more than one split \\(youtube_id:${ytid} in test and train\\)`))
    const manifest = await readJson<Manifest>(join(warn, 'manifest.json'))
    assert.deepEqual(manifest.leaks, [{ id: `youtube_id:${ytid}`, splits: ['test', 'train'], keys: [`audiocaps/test/${ytid}`, `audiocaps/train/${ytid}`] }])
    const rejected = join(await tempDir(), 'reject')
    assert.equal((await runCli(['prepare', 'audiocaps', '--src', src, '--out', rejected, '--on-split-leak', 'reject', '--max-reject-ratio', '1', '--quiet'])).code, 0)
    assert.deepEqual((await ledger(rejected)).map((l) => [l.key, l.code, l.message]), [[`audiocaps/train/${ytid}`, 'split-leak', `youtube_id:${ytid} is in split test too; kept there (--on-split-leak reject)`]])
    const error = await runCli(['prepare', 'audiocaps', '--src', src, '--out', join(await tempDir(), 'error'), '--on-split-leak', 'error', '--quiet'])
    assert.equal(error.code, 1)
    assert.match(error.stderr, /1 source item is in more than one split .*--on-split-leak error stops here/)
  })
})

describe('published-protocol fidelity', () => {
  it('scores an evaluation item with no usable box as cIoU 0 instead of dropping it', () => {
    const items = [{ key: 'vggss/test/a', corpus: 'vggss', label: 'dog', boxes: [[0.1, 0.1, 0.5, 0.5]] }, { key: 'vggss/test/b', corpus: 'vggss', label: 'dog', boxes: [] }]
    const report = scoreItems(items, new Map([['vggss/test/a', [0.1, 0.1, 0.5, 0.5]], ['vggss/test/b', [0.1, 0.1, 0.5, 0.5]]]))
    assert.deepEqual(report.perItem.map((p) => [p.key, p.ciou]), [['vggss/test/a', 1], ['vggss/test/b', 0]])
    assert.equal(report.overall.ciouAt05, 0.5)
  })

  it("finds Flickr-SoundNet frames and audio beside each other in the download's Data/<n>/<id>.{jpg,wav} folders", async () => {
    const src = join(await tempDir('flickr-'), 'flickr')
    const expected = await CORPORA['flickr-soundnet'].writeFixture(src, { clips: 3, seed: 12, seconds: 1.5 })
    // Move every frame and clip into numbered folders, as the download keeps them.
    for (const [folder, ext] of [['frames', '.jpg'], ['audio', '.wav']] as const) {
      for (const [i, name] of (await readdir(join(src, folder))).filter((n) => n.endsWith(ext)).sort().entries()) {
        await mkdir(join(src, 'Data', String(i + 1)), { recursive: true })
        await rename(join(src, folder, name), join(src, 'Data', String(i + 1), name))
      }
      await rm(join(src, folder), { recursive: true })
    }
    const summary = await prepareCorpus('flickr-soundnet', { src, out: join(await tempDir(), 'ds'), workers: 0 })
    assert.deepEqual([summary.inputs, summary.rows], [expected.inputs, expected.rows])
    assert.ok(expected.rows > 0)
  })
})

