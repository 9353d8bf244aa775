// The bytes do not move: the dataset version of every corpus fixture (plain and --corrupt) and of the demo's
// datasets, pinned in test/fixtures/dataset-versions.json. A refactor must leave every one identical; a change
// that means to alter the bytes rewrites the file on purpose:
//   TURNKIT_WRITE_VERSIONS=1 node --import tsx --test test/versions.test.ts
// and says why in its commit.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CORPORA, CORPUS_NAMES } from '../src/cli/corpora.js'
import { prepareCorpus } from '../src/cli/corpora.js'
import { writeDemoWorld } from '../src/cli/demo.js'
import { sha256File } from '../src/dataset/hash.js'
import { locateFfmpeg } from '../src/audio/ffmpeg.js'
import { tempDir } from './helpers/temp.js'

const PINNED = fileURLToPath(new URL('./fixtures/dataset-versions.json', import.meta.url))
const TOOL = { name: 'turnkit', version: 'test' }
// Small, but every defect of --corrupt is written whatever the clip count.
const FIXTURE = { clips: 3, seed: 1, seconds: 2 } as const

/** What pins a dataset: its version and the sha256 of its manifest and of its ledger. */
async function pin(dir: string, version: string): Promise<string> {
  return `${version} manifest ${await sha256File(join(dir, 'manifest.json'))} ledger ${await sha256File(join(dir, 'rejects.jsonl'))}`
}

/** Every dataset's pin, by name (`clotho`, `clotho --corrupt`, `demo small refcoco`, ...). */
async function measureVersions(): Promise<Record<string, string>> {
  const work = await tempDir('versions-')
  const versions: Record<string, string> = {}
  for (const corpus of CORPUS_NAMES) {
    for (const corrupt of [false, true]) {
      const name = `${corpus}${corrupt ? ' --corrupt' : ''}`
      const src = join(work, 'raw', name.replace(' --', '-'))
      await CORPORA[corpus].writeFixture(src, { ...FIXTURE, corrupt })
      const out = join(work, 'datasets', name.replace(' --', '-'))
      const summary = await prepareCorpus(corpus, { src, out, workers: 0, tool: TOOL })
      assert.equal(summary.status, 'complete', name)
      versions[name] = await pin(out, summary.manifest!.version)
    }
  }
  for (const scale of ['small', 'full'] as const) {
    for (const dataset of await writeDemoWorld(join(work, `demo-${scale}`), { scale, seed: 0 })) {
      const summary = await prepareCorpus(dataset.corpus, { src: dataset.src, out: dataset.out, workers: 0, tool: TOOL })
      versions[`demo ${scale} ${dataset.out.split('/').at(-1)}`] = await pin(dataset.out, summary.manifest!.version)
    }
  }
  return versions
}

// The pins were made with the ffmpeg that `npm ci` installs; another binary decodes (and names itself) otherwise.
const ffmpegSource = locateFfmpeg().source
const skip = ffmpegSource === '@ffmpeg-installer/ffmpeg' ? false : `pinned with @ffmpeg-installer/ffmpeg's binary; this process uses ffmpeg from ${ffmpegSource}`

describe('dataset versions', { skip }, () => {
  let measured: Record<string, string> = {}
  before(async () => {
    measured = await measureVersions()
    if (process.env.TURNKIT_WRITE_VERSIONS === '1') await writeFile(PINNED, JSON.stringify(measured, null, 2) + '\n')
  })

  it('of every corpus fixture, plain and --corrupt, and of the demo datasets, equal the pinned ones', async () => {
    const pinned = JSON.parse(await readFile(PINNED, 'utf8')) as Record<string, string>
    assert.deepEqual(measured, pinned)
  })
})
