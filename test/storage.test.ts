// Data anywhere: corpora and datasets in an S3-compatible store (s3rver, a real S3 REST server in its own process
// on 127.0.0.1) and behind an HTTPS server (Node's own, with a self-signed certificate), reached through the real
// AWS SDK and fetch, with faults injected by a proxy in front. Every command runs as a user runs it: the bin.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, open, readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { runCli, startCli } from './helpers/cli.js'
import { listKeys, putObject, S3_ENV, selfSignedCertificate, serveFolder, startFaultProxy, startS3, uploadDir, type S3Server, type Served } from './helpers/servers.js'
import { openDataset, openParquet, PartCache, CacheFullError, openStore, StoreError } from '../src/index.js'

const CPU = { TURNKIT_BACKEND: 'cpu' }

async function turnLosses(run: string): Promise<{ step: number; losses: Record<string, number> }[]> {
  const lines = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).split('\n').filter((l) => l.includes('"stage":"turn"'))
  return lines.map((l) => JSON.parse(l) as { step: number; losses: Record<string, number> }).map(({ step, losses }) => ({ step, losses }))
}

const versionOf = (stdout: string): string => (JSON.parse(stdout.trim().split('\n').at(-1)!) as { version: string }).version

/**
 * Bytes under a cache folder, each file once; a cache's `.reserve` files are sparse markers that hold no data.
 * The walk holds the cache's admit.lock, as an admission does: without it, the walk can stat a part just before an
 * admission evicts it and then find the download that replaced it, and add up two moments that never coexisted
 * (seen once in CI: 6 kB over). Under the lock nothing is evicted or admitted, so what it counts did coexist.
 */
async function diskBytes(dir: string): Promise<number> {
  const lock = join(dir, 'admit.lock')
  for (;;) {
    try {
      await (await open(lock, 'wx')).close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      await new Promise((r) => setTimeout(r, 2))
    }
  }
  let total = 0
  const seen = new Set<number>()
  const walk = async (at: string): Promise<void> => {
    for (const e of await readdir(at, { withFileTypes: true }).catch(() => [])) {
      const path = join(at, e.name)
      if (e.isDirectory()) await walk(path)
      // A .reserve is a sparse placeholder its .part grows into; --cache-limit bounds the parts, so it is not counted.
      else if (!e.name.endsWith('.reserve') && e.name !== 'admit.lock') {
        const s = await stat(path).catch(() => null) // released while we looked
        if (s === null) continue
        if (!seen.has(s.ino)) total += s.size
        seen.add(s.ino)
      }
    }
  }
  try {
    await walk(dir)
  } finally {
    await unlink(lock)
  }
  return total
}

describe('object storage and HTTPS (s3rver and an HTTPS server on 127.0.0.1)', () => {
  let work = ''
  let s3: S3Server
  let env: NodeJS.ProcessEnv = {}
  let localClotho = ''
  let localVersion = ''
  before(async () => {
    work = await tempDir()
    s3 = await startS3(['corpora', 'datasets'])
    env = { ...S3_ENV, AWS_ENDPOINT_URL: s3.endpoint, TURNKIT_CACHE_DIR: join(work, 'cache') }
    // A corpus with every kind of bad input, uploaded as a user would (`aws s3 sync`).
    assert.equal((await runCli(['fixtures', 'clotho', '--out', join(work, 'clotho'), '--clips', '10', '--seconds', '2', '--corrupt'])).code, 0)
    assert.ok((await uploadDir(s3.endpoint, join(work, 'clotho'), 'corpora', 'clotho')) > 10)
    localClotho = join(work, 'clotho-local')
    const local = await runCli(['prepare', 'clotho', '--src', join(work, 'clotho'), '--out', localClotho, '--shard-rows', '4', '--json', '--quiet'], env)
    assert.equal(local.code, 1, local.stderr) // the corrupt inputs exceed --max-reject-ratio; the dataset is written
    localVersion = versionOf(local.stdout)
  })
  after(async () => {
    await s3.stop()
  })

  it('prepare --src s3:// --out s3:// gives the local version; verify, inspect read it from the bucket', async () => {
    const r = await runCli(['prepare', 'clotho', '--src', 's3://corpora/clotho', '--out', 's3://datasets/clotho', '--shard-rows', '4', '--json', '--quiet'], env)
    assert.equal(r.code, 1, r.stderr)
    assert.equal(versionOf(r.stdout), localVersion)
    const keys = await listKeys(s3.endpoint, 'datasets', 'clotho/')
    assert.ok(keys.includes('clotho/manifest.json') && keys.includes('clotho/rejects.jsonl'))
    assert.deepEqual(keys.filter((k) => k.endsWith('.parquet')), (await readdir(localClotho)).filter((n) => n.endsWith('.parquet')).map((n) => `clotho/${n}`))
    assert.ok(!keys.some((k) => /tmp|lock/.test(k)), `left behind: ${keys.join(', ')}`)
    // The same bytes as the local build, part by part and ledger.
    const remote = await openDataset('s3://datasets/clotho', { s3Endpoint: s3.endpoint, cacheDir: join(work, 'cache-a') })
    assert.deepEqual(remote.manifest, JSON.parse(await readFile(join(localClotho, 'manifest.json'), 'utf8')))
    assert.deepEqual(await remote.rejects(), (await readFile(join(localClotho, 'rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)))
    const verified = await runCli(['verify', 's3://datasets/clotho'], env)
    assert.equal(verified.code, 0, verified.stderr)
    assert.match(verified.stdout, /verify: s3:\/\/datasets\/clotho OK/)
    const inspected = await runCli(['inspect', 's3://datasets/clotho', '--rows', '1', '--json'], env)
    assert.equal(inspected.code, 0, inspected.stderr)
    assert.equal((JSON.parse(inspected.stdout) as { manifest: { version: string } }).manifest.version, localVersion)
  })

  it('kill -9 mid-run, rerun: the same version; --part 0/2 and 1/2 into the bucket, merge there: the same version', async () => {
    const args = ['prepare', 'clotho', '--src', 's3://corpora/clotho', '--out', 's3://datasets/killed', '--shard-rows', '2', '--workers', '1', '--json', '--quiet']
    const { child, done } = startCli(args, env)
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && !(await listKeys(s3.endpoint, 'datasets', 'killed/.turnkit/unit-')).length) await new Promise((r) => setTimeout(r, 25))
    child.kill('SIGKILL')
    assert.equal((await done).signal, 'SIGKILL')
    assert.ok(!(await listKeys(s3.endpoint, 'datasets', 'killed/')).includes('killed/manifest.json'), 'killed before the end')
    const rerun = await runCli(args, env)
    assert.equal(rerun.code, 1, rerun.stderr)
    const single = await runCli(['prepare', 'clotho', '--src', join(work, 'clotho'), '--out', join(work, 'by-two'), '--shard-rows', '2', '--json', '--quiet'], env)
    assert.equal(versionOf(rerun.stdout), versionOf(single.stdout))
    assert.ok((JSON.parse(rerun.stdout) as { unitsSkipped: number }).unitsSkipped >= 1, 'finished units are kept')

    for (const part of ['0/2', '1/2']) {
      const r = await runCli(['prepare', 'clotho', '--src', 's3://corpora/clotho', '--out', `s3://datasets/part-${part[0]}`, '--shard-rows', '2', '--part', part, '--max-reject-ratio', '1', '--json', '--quiet'], env)
      assert.equal(r.code, 0, r.stderr)
      assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'partial')
    }
    const merged = await runCli(['merge', 's3://datasets/part-0', 's3://datasets/part-1', '--out', 's3://datasets/merged'], env)
    assert.equal(merged.code, 0, merged.stderr)
    assert.match(merged.stdout, new RegExp(`version ${versionOf(single.stdout)}`))
  })

  it('with 20% of requests failing and the server killed and restarted mid-run, prepare gives the same version', async () => {
    const proxy = await startFaultProxy(s3.endpoint, { rate: 0.2, seed: 7 })
    try {
      const run = startCli(['prepare', 'clotho', '--src', 's3://corpora/clotho', '--out', 's3://datasets/faulty', '--shard-rows', '4', '--workers', '1', '--json', '--quiet'], { ...env, AWS_ENDPOINT_URL: proxy.url })
      // Kill the server once the first unit is in, and bring it back a moment later.
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline && !(await listKeys(s3.endpoint, 'datasets', 'faulty/.turnkit/unit-')).length) await new Promise((r) => setTimeout(r, 25))
      s3.kill()
      await new Promise((r) => setTimeout(r, 300))
      await s3.restart()
      const r = await run.done
      assert.equal(r.code, 1, r.stderr)
      assert.equal(versionOf(r.stdout), localVersion)
      assert.ok(proxy.counts.unavailable + proxy.counts.dropped + proxy.counts.truncated >= 3, JSON.stringify(proxy.counts))
      assert.ok(proxy.counts.truncated >= 1 && proxy.counts.dropped >= 1, JSON.stringify(proxy.counts))
    } finally {
      await proxy.stop()
    }
  })

  it('the cache stays under --cache-limit, reads what the local dataset holds, and a second epoch downloads nothing', async () => {
    const local = await openDataset(localClotho)
    const want = (await local.stream({ seed: 3, windowBlocks: 1 })).take(2 * local.size)
    const parts = local.manifest.shards.map((s) => s.bytes).sort((a, b) => b - a)
    assert.ok(parts.length >= 3)
    // Room for the two largest parts (the window being read and the one fetched ahead), not for all of them.
    const limit = parts[0]! + parts[1]!
    const small = new PartCache(join(work, 'cache-small'), limit)
    const remote = await openDataset('s3://datasets/clotho', { s3Endpoint: s3.endpoint, cache: small })
    const stream = await remote.stream({ seed: 3, windowBlocks: 1 })
    const sampled: number[] = []
    const got = []
    for (let i = 0; i < 2 * remote.size; i++) {
      got.push(await stream.next())
      sampled.push(await diskBytes(small.dir))
    }
    await stream.close()
    const keys = (items: { row: Record<string, unknown>; cursor: unknown }[]): unknown[] => items.map((i) => [i.row.key, i.cursor])
    assert.deepEqual(keys(got), keys(await want))
    assert.ok(small.stats.maxBytesUsed <= limit && Math.max(...sampled) <= limit, `${small.stats.maxBytesUsed}, ${Math.max(...sampled)} > ${limit}`)
    assert.ok(small.stats.evictions > 0, 'the limit forced evictions')

    const roomy = new PartCache(join(work, 'cache-roomy'), 1e9)
    const warm = await (await openDataset('s3://datasets/clotho', { s3Endpoint: s3.endpoint, cache: roomy })).stream({ seed: 3, windowBlocks: 1 })
    await warm.take(remote.size) // epoch 0
    assert.equal(roomy.stats.downloads, parts.length)
    await warm.take(remote.size) // epoch 1
    await warm.close()
    assert.equal(roomy.stats.downloads, parts.length, 'epoch 1 downloaded nothing')
    assert.ok(roomy.stats.hits >= parts.length)
    // A later run on the same cache downloads nothing either.
    const again = new PartCache(roomy.dir, 1e9)
    for await (const _ of (await openDataset('s3://datasets/clotho', { s3Endpoint: s3.endpoint, cache: again })).rows({ columns: ['key'] })) void _
    assert.equal(again.stats.downloads, 0)

    // A limit below what one window needs is an error naming the setting, not a stall.
    const tiny = new PartCache(join(work, 'cache-tiny'), Math.floor(parts.at(-1)! / 2))
    const starved = await (await openDataset('s3://datasets/clotho', { s3Endpoint: s3.endpoint, cache: tiny })).stream({ windowBlocks: 1 })
    await assert.rejects(starved.next(), (e: Error) => e instanceof CacheFullError && /--cache-limit/.test(e.message) && /s3:\/\/datasets\/clotho\/part-/.test(e.message))
    await starved.close()
  })

  it('two processes share one cache safely: both verify, each part is stored once', async () => {
    const shared = { ...env, TURNKIT_CACHE_DIR: join(work, 'cache-shared') }
    const [a, b] = await Promise.all([runCli(['verify', 's3://datasets/clotho'], shared), runCli(['verify', 's3://datasets/clotho'], shared)])
    assert.equal(a.code, 0, a.stderr)
    assert.equal(b.code, 0, b.stderr)
    const parts = await readdir(join(work, 'cache-shared', 'parts'))
    const manifest = JSON.parse(await readFile(join(localClotho, 'manifest.json'), 'utf8')) as { shards: { sha256: string }[] }
    assert.deepEqual(parts.sort(), manifest.shards.map((s) => `${s.sha256.slice(7)}.parquet`).sort())
    assert.deepEqual(await readdir(join(work, 'cache-shared', 'pins')), [], 'no pin outlives its reader')
  })

  it('a cache hit on a part another reader is reading leaves that reader able to read (the part file is never touched)', async () => {
    const cache = new PartCache(join(work, 'cache-hit'), 1e9)
    const store = openStore('s3://datasets/clotho', { s3Endpoint: s3.endpoint })
    const shard = (await openDataset(localClotho)).manifest.shards[0]!
    const first = await cache.fetch(store, shard)
    assert.equal(first.downloaded, true)
    const reader = await openParquet(first.path)
    try {
      await new Promise((r) => setTimeout(r, 20)) // a later hit gets a later clock reading
      const second = await cache.fetch(store, shard)
      assert.equal(second.downloaded, false)
      // Node refuses a lazy Blob whose file changed after it was opened: this read failed when a hit touched the part.
      assert.equal((await reader.readRowGroup(0, { columns: ['key'] })).length, reader.metadata.rowGroupRows[0])
      await second.release()
    } finally {
      reader.close()
      await first.release()
    }
  })

  it('a damaged object is named and refused; missing buckets, objects and denied credentials give one line naming the location', async () => {
    const manifest = JSON.parse(await readFile(join(localClotho, 'manifest.json'), 'utf8')) as { shards: { file: string }[] }
    const file = manifest.shards[1]!.file
    await uploadDir(s3.endpoint, localClotho, 'datasets', 'damaged')
    const bytes = await readFile(join(localClotho, file))
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff // same size: only the hash can tell
    await putObject(s3.endpoint, 'datasets', `damaged/${file}`, bytes)
    const verify = await runCli(['verify', 's3://datasets/damaged'], { ...env, TURNKIT_CACHE_DIR: join(work, 'cache-damaged') })
    assert.equal(verify.code, 1)
    assert.match(verify.stderr, new RegExp(`verify: ${file}: sha256 mismatch: s3://datasets/damaged/${file}`))
    const rows = await runCli(['inspect', 's3://datasets/damaged', '--rows', '100', '--no-verify-data'], { ...env, TURNKIT_CACHE_DIR: join(work, 'cache-damaged') })
    assert.equal(rows.code, 1)
    assert.match(rows.stderr, new RegExp(`^turnkit inspect: s3://datasets/damaged/${file}: .* the manifest says .*no row of it is used`, 'm'))
    assert.equal(rows.stderr.trim().split('\n').filter((l) => l.startsWith('turnkit')).length, 1)
    assert.ok(!existsSync(join(work, 'cache-damaged', 'parts', `${(JSON.parse(await readFile(join(localClotho, 'manifest.json'), 'utf8')) as { shards: { sha256: string }[] }).shards[1]!.sha256.slice(7)}.parquet`)), 'a bad download never enters the cache')

    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['inspect', 's3://no-such-bucket/x'], env, /s3:\/\/no-such-bucket\/x\/manifest\.json: the bucket no-such-bucket does not exist: create it or check the location/],
      [['inspect', 's3://datasets/nothing-here'], env, /s3:\/\/datasets\/nothing-here\/manifest\.json not found: not a turnkit dataset/],
      [['inspect', 's3://datasets/clotho'], { ...env, AWS_ACCESS_KEY_ID: 'nobody' }, /s3:\/\/datasets\/clotho\/manifest\.json: access denied .*check the credentials/],
      [['prepare', 'clotho', '--src', 's3://corpora/nothing', '--out', join(work, 'x')], env, /s3:\/\/corpora\/nothing: nothing there/],
      [['prepare', 'clotho', '--src', 's3://corpora/clotho', '--out', 'https://127.0.0.1:1/x'], env, /https:\/\/127\.0\.0\.1:1\/x.*read-only: write to a local folder or an s3:\/\/ location/],
    ]
    for (const [args, e, pattern] of cases) {
      const r = await runCli(args, e)
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      const lines = r.stderr.trim().split('\n')
      assert.equal(lines.length, 1, r.stderr)
      assert.match(lines[0]!, pattern)
    }
  })

  it('a body cut short is retried, and named when it never arrives whole', async () => {
    const proxy = await startFaultProxy(s3.endpoint, { rate: 1, faults: ['truncate'] })
    try {
      const store = openStore('s3://datasets/clotho', { s3Endpoint: proxy.url, attempts: 2 })
      await assert.rejects(store.read('rejects.jsonl'), (e: Error) => e instanceof StoreError && e.code === 'unavailable' && /^s3:\/\/datasets\/clotho\/rejects\.jsonl: .*after 2 attempts/.test(e.message))
      proxy.setRate(0.5)
      const again = openStore('s3://datasets/clotho', { s3Endpoint: proxy.url, attempts: 8 })
      assert.deepEqual(Buffer.from(await again.read('rejects.jsonl')), await readFile(join(localClotho, 'rejects.jsonl')))
    } finally {
      await proxy.stop()
    }
  })

  it('a body that stops half-way on an open connection is abandoned after the no-progress timeout and read again', { timeout: 60_000 }, async () => {
    // Before: the S3 client was given a requestTimeout, which in this SDK only logs a warning; a body that stalled
    // after its headers (a server killed mid-answer behind a proxy) hung prepare for good (seen once in CI).
    const proxy = await startFaultProxy(s3.endpoint, { rate: 0.5, seed: 3, faults: ['stall'] })
    try {
      const want = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24)
      await openStore('s3://datasets/stall', { s3Endpoint: s3.endpoint }).write('object.bin', want)
      const store = openStore('s3://datasets/stall', { s3Endpoint: proxy.url, timeoutMs: 1000 })
      const started = Date.now()
      for (let i = 0; i < 4; i++) assert.ok(Buffer.from(await store.read('object.bin')).equals(Buffer.from(want)))
      assert.ok(proxy.counts.stalled >= 1, JSON.stringify(proxy.counts))
      assert.ok(Date.now() - started < 30_000, `${Date.now() - started} ms`)
    } finally {
      await proxy.stop()
    }
  })

  it('an http(s):// body on a slow link arrives; one that stops on an open connection is read again', { timeout: 60_000 }, async () => {
    // Before: each request had a 30 s deadline as a whole (AbortSignal.timeout), so a large part arriving slowly (a
    // 64 MB part below ~2 MB/s) was cut and retried until the attempts ran out. timeoutMs bounds the time without
    // progress: here 1 s, against a body that takes ~2.4 s in 8 pieces 300 ms apart.
    const root = join(work, 'served-slow')
    const want = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24)
    await mkdir(root, { recursive: true })
    await writeFile(join(root, 'object.bin'), want)
    const served = await serveFolder(root)
    const trickle = await startFaultProxy(served.url, { rate: 1, faults: ['trickle'], trickleMs: 300 })
    const stall = await startFaultProxy(served.url, { rate: 0.5, seed: 3, faults: ['stall'] })
    try {
      const slow = openStore(trickle.url, { timeoutMs: 1000, attempts: 2 })
      const started = Date.now()
      assert.ok(Buffer.from(await slow.read('object.bin')).equals(Buffer.from(want)))
      assert.ok(Date.now() - started > 2000, `${Date.now() - started} ms: the body did not trickle`)
      assert.equal(trickle.counts.trickled, 1, JSON.stringify(trickle.counts))
      const stalling = openStore(stall.url, { timeoutMs: 1000 })
      for (let i = 0; i < 4; i++) assert.ok(Buffer.from(await stalling.read('object.bin')).equals(Buffer.from(want)))
      assert.ok(stall.counts.stalled >= 1, JSON.stringify(stall.counts))
    } finally {
      await trickle.stop()
      await stall.stop()
      await served.stop()
    }
  })

  it('a large object goes up as a multipart upload and reads back whole, with its sha256 recorded', async () => {
    const store = openStore('s3://datasets/multipart', { s3Endpoint: s3.endpoint, multipartBytes: 1 })
    const bytes = new Uint8Array(17 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24)
    await store.write('big.bin', bytes)
    const info = await store.info('big.bin')
    assert.equal(info?.size, bytes.length)
    assert.equal(info?.sha256, `sha256:${createHash('sha256').update(bytes).digest('hex')}`)
    assert.ok(Buffer.from(await store.read('big.bin')).equals(Buffer.from(bytes)))
  })

  describe('train from s3:// and https:// (cpu backend)', () => {
    let source = ''
    let intermediate = ''
    let modelConfig = ''
    let https: Served | null = null
    let certFile = ''
    let reference: { step: number; losses: Record<string, number> }[] = []
    before(async () => {
      source = join(work, 'data', 'refcoco-ds')
      intermediate = join(work, 'data', 'clotho-ds')
      for (const [corpus, out, extra] of [['refcoco', source, ['--clips', '8']], ['clotho', intermediate, ['--clips', '8', '--seconds', '3']]] as const) {
        assert.equal((await runCli(['fixtures', corpus, '--out', join(work, `train-${corpus}`), ...extra])).code, 0)
        const prepared = await runCli(['prepare', corpus, '--src', join(work, `train-${corpus}`), '--out', out, '--shard-rows', '4', '--quiet'])
        assert.equal(prepared.code, 0, prepared.stderr)
      }
      await uploadDir(s3.endpoint, join(work, 'data'), 'datasets', 'data')
      modelConfig = join(work, 'small.json')
      await writeFile(modelConfig, JSON.stringify({ dModel: 16, imageSize: 32, backboneChannels: [8, 16], codebookSize: 16, domainDModel: 16 }))
      const tls = await selfSignedCertificate()
      if (tls === null) console.log('# https:// training skipped: no openssl to make a self-signed certificate')
      else {
        https = await serveFolder(join(work, 'data'), tls)
        certFile = tls.certFile
      }
      const whole = await runCli(trainArgs(source, intermediate, join(work, 'run-local')), CPU)
      assert.equal(whole.code, 0, whole.stderr)
      reference = await turnLosses(join(work, 'run-local'))
      assert.equal(reference.length, 8)
    })
    after(async () => {
      await https?.stop()
    })

    const trainArgs = (src: string, mid: string, out: string): string[] => [
      'train', '--source', src, '--intermediate', mid, '--out', out, '--preset', 'tiny', '--config', modelConfig,
      '--epochs', '2', '--batch', '4', '--classifier-epochs', '1', '--checkpoint-steps', '2',
    ]

    it('takes the losses of the local run from s3://, and from s3:// with 20% of requests failing', async () => {
      const fromS3 = await runCli(trainArgs('s3://datasets/data/refcoco-ds', 's3://datasets/data/clotho-ds', join(work, 'run-s3')), { ...env, ...CPU, TURNKIT_CACHE_DIR: join(work, 'cache-train') })
      assert.equal(fromS3.code, 0, fromS3.stderr)
      assert.match(fromS3.stderr, /verified s3:\/\/datasets\/data\/refcoco-ds .*each part is hashed as it arrives/)
      assert.deepEqual(await turnLosses(join(work, 'run-s3')), reference)
      const config = JSON.parse(await readFile(join(work, 'run-s3', 'config.json'), 'utf8')) as { datasets: { source: { dir: string } } }
      assert.equal(config.datasets.source.dir, 's3://datasets/data/refcoco-ds')

      const proxy = await startFaultProxy(s3.endpoint, { rate: 0.2, seed: 11 })
      try {
        const faulty = await runCli(trainArgs('s3://datasets/data/refcoco-ds', 's3://datasets/data/clotho-ds', join(work, 'run-faulty')), { ...env, ...CPU, AWS_ENDPOINT_URL: proxy.url, TURNKIT_CACHE_DIR: join(work, 'cache-faulty') })
        assert.equal(faulty.code, 0, faulty.stderr)
        assert.ok(proxy.counts.requests - proxy.counts.passed >= 2, JSON.stringify(proxy.counts))
      } finally {
        await proxy.stop()
      }
      assert.deepEqual(await turnLosses(join(work, 'run-faulty')), reference)
    })

    it('kill -9 and --resume from s3:// data: the losses of the uninterrupted run', async () => {
      const killed = join(work, 'run-killed')
      const runEnv = { ...env, ...CPU, TURNKIT_CACHE_DIR: join(work, 'cache-killed') }
      const { child, done } = startCli(trainArgs('s3://datasets/data/refcoco-ds', 's3://datasets/data/clotho-ds', killed), runEnv)
      const deadline = Date.now() + 120_000
      while (Date.now() < deadline) {
        const lines = existsSync(join(killed, 'metrics.jsonl')) ? await turnLosses(killed).catch(() => []) : []
        if (lines.length >= 3) break
        await new Promise((r) => setTimeout(r, 25))
      }
      child.kill('SIGKILL')
      assert.equal((await done).signal, 'SIGKILL')
      const resumed = await runCli(['train', '--resume', killed], runEnv)
      assert.equal(resumed.code, 0, resumed.stderr)
      assert.match(resumed.stderr, /resumed from step [2-6]/)
      assert.deepEqual(await turnLosses(killed), reference)
    })

    it('takes the losses of the local run from https:// (self-signed certificate trusted through NODE_EXTRA_CA_CERTS)', async (t) => {
      if (https === null) return t.skip('no openssl: no certificate for the HTTPS server')
      const run = join(work, 'run-https')
      const r = await runCli(trainArgs(`${https.url}/refcoco-ds`, `${https.url}/clotho-ds`, run), { ...CPU, NODE_EXTRA_CA_CERTS: certFile, TURNKIT_CACHE_DIR: join(work, 'cache-https') })
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(await turnLosses(run), reference)
      assert.ok(https.requests.GET > 0)
      const scored = await runCli(['verify', `${https.url}/clotho-ds`], { NODE_EXTRA_CA_CERTS: certFile, TURNKIT_CACHE_DIR: join(work, 'cache-https') })
      assert.equal(scored.code, 0, scored.stderr)
    })
  })
})
