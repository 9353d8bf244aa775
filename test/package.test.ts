// turnkit as a user installs it: `npm pack`, the tarball installed into a fresh project (offline, from the npm
// cache that `npm ci` filled), then plain Node imports it (no tsx anywhere on the path), the README's library
// example runs against a prepared dataset, tsc type-checks a consumer against the shipped .d.ts files, and the
// installed `turnkit` command prepares a corpus with a worker thread into the same bytes as the sources do.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { tempDir } from './helpers/temp.js'
import { writeClothoFixture } from '../src/fixtures/audio-retrieval.js'
import { prepareCorpus } from '../src/cli/corpora.js'
import { openDataset } from '../src/dataset/dataset.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/**
 * A package-lock.json for a project that depends on the tarball only: the repository's own lock entries (what
 * `npm ci` put in the cache) minus the dev-only ones, plus the tarball. `npm ci --offline` then installs it
 * exactly, without asking the registry anything.
 */
async function appLock(tarball: string): Promise<object> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> }
  const root = lock.packages['']!
  const integrity = `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`
  // The repository's lock may omit tarball URLs (npm's omit-lockfile-registry-resolved); with the registry's own
  // URL and the integrity, npm takes each tarball from its content-addressed cache without any metadata request.
  const tarballUrl = (path: string, version: unknown): string => {
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
    return `https://registry.npmjs.org/${name}/-/${name.split('/').at(-1)}-${String(version)}.tgz`
  }
  const packages = Object.fromEntries(
    Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.dev !== true)
      .map(([path, entry]) => [path, entry.resolved === undefined && entry.integrity !== undefined ? { ...entry, resolved: tarballUrl(path, entry.version) } : entry]),
  )
  packages['node_modules/turnkit'] = {
    version: root.version, resolved: `file:${tarball}`, integrity, license: root.license,
    dependencies: root.dependencies, optionalDependencies: root.optionalDependencies, bin: root.bin, engines: root.engines,
  }
  return { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'app', version: '1.0.0', dependencies: { turnkit: `file:${tarball}` } }, ...packages } }
}

/** The README's `// example: <name>` code block. */
async function readmeExample(name: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.startsWith(`// example: ${name}`))
  assert.ok(block, `README.md has no js block starting with // example: ${name}`)
  return block
}

describe('the packed package', { timeout: 300_000 }, () => {
  let app = ''
  let corpus = ''
  let dataset = ''
  before(async () => {
    const work = await tempDir('package-')
    await run(npm, ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT, maxBuffer: 1 << 24 })
    const tarball = join(work, (await readdir(work)).find((n) => n.endsWith('.tgz'))!)
    app = join(work, 'app')
    await run('mkdir', [app])
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true, dependencies: { turnkit: `file:${tarball}` } }))
    await writeFile(join(app, 'package-lock.json'), JSON.stringify(await appLock(tarball)))
    await run(npm, ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, maxBuffer: 1 << 24 })
    corpus = join(work, 'clotho')
    await writeClothoFixture(corpus, { clips: 4, seed: 2, seconds: 2 })
    dataset = join(work, 'dataset')
    await prepareCorpus('clotho', { src: corpus, out: dataset, shardRows: 2, workers: 0 })
  })

  it('installs without tsx and without the TypeScript sources', async () => {
    assert.equal(existsSync(join(app, 'node_modules', 'tsx')), false)
    assert.equal(existsSync(join(app, 'node_modules', 'turnkit', 'src')), false)
    assert.ok(existsSync(join(app, 'node_modules', 'turnkit', 'dist', 'src', 'index.d.ts')))
  })

  it('imports in plain Node and reads a prepared dataset', async () => {
    const code = `import('turnkit').then(async ({ openDataset }) => { const d = await openDataset(${JSON.stringify(dataset)}); const keys = []; for await (const row of d.rows({ columns: ['key'] })) keys.push(row.key); console.log(JSON.stringify({ version: d.manifest.version, keys })) })`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: app })
    const local = await openDataset(dataset)
    assert.deepEqual(JSON.parse(stdout), { version: local.manifest.version, keys: await local.keys() })
  })

  it("runs the README's library example: a resumed stream continues exactly where the first one stopped", async () => {
    await writeFile(join(app, 'example.mjs'), await readmeExample('stream-resume'))
    const { stdout } = await run(process.execPath, ['example.mjs', dataset], { cwd: app })
    const out = JSON.parse(stdout) as { version: string; rows: number; seen: string[]; next: string }
    const local = await openDataset(dataset)
    const whole = await local.stream({ seed: 7 })
    const expected = (await whole.take(6)).map((item) => item.row.key as string)
    await whole.close()
    assert.deepEqual(out, { version: local.manifest.version, rows: local.size, seen: expected.slice(0, 5), next: expected[5] })
  })

  it('type-checks a consumer against the shipped .d.ts files, and refuses a wrong call', async () => {
    await writeFile(
      join(app, 'consumer.ts'),
      `import { openDataset, DatasetWriter, type Manifest, type StreamItem, type Row } from 'turnkit'
const dataset = await openDataset(process.argv[2] ?? '.')
const manifest: Manifest = dataset.manifest
const rows: Row[] = []
for await (const row of dataset.rows({ columns: ['key'] })) rows.push(row)
const stream = await dataset.stream({ seed: 1, windowBlocks: 2 })
const item: StreamItem = await stream.next()
const position: number = item.cursor.position
void [manifest, position, DatasetWriter.merge]
`,
    )
    await writeFile(join(app, 'wrong.ts'), `import { openDataset } from 'turnkit'\nconst d = await openDataset('.')\nawait d.stream({ seed: 'one' })\n`)
    const tsconfig = (files: string[]) => ({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
      files,
    })
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify(tsconfig(['consumer.ts'])))
    await writeFile(join(app, 'tsconfig.wrong.json'), JSON.stringify(tsconfig(['wrong.ts'])))
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app })
    await assert.rejects(run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], { cwd: app }), (error: Error & { stdout?: string }) => {
      assert.match(error.stdout ?? '', /wrong\.ts\(3,.*'string' is not assignable to type 'number'/)
      return true
    })
  })

  it('ships a turnkit command that prepares a corpus in a worker thread into the same bytes as the sources', async () => {
    const out = join(app, 'from-package')
    await run(join(app, 'node_modules', '.bin', 'turnkit'), ['prepare', 'clotho', '--src', corpus, '--out', out, '--shard-rows', '2', '--workers', '1', '--quiet'], { cwd: app })
    const installed = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { version: string }
    assert.equal(installed.version, (await openDataset(dataset)).manifest.version)
  })
})
