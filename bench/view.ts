// `turnkit view` bench: a 20,000-row audio-text dataset (written directly with DatasetWriter.write: small log-mels,
// real WordPiece ids, 20 part files of 1,000 rows, row groups of 128), the viewer started on it in a child process
// (so its RSS is the server's alone), and the figures a person browsing it feels: time from startViewer to the
// first page served, the index build (key, split, corpus, label read once), the first filtered and first sorted
// page, paging through every row in natural and in sorted order, and the server's RSS throughout.
// Usage: node --import tsx bench/view.ts [rows]   (bench/run.ts calls benchView())
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CACHE = join(ROOT, 'bench', '.cache')
const SELF = fileURLToPath(import.meta.url)

const round = (x: number, digits = 1): number => Number(x.toFixed(digits))
const now = (): number => performance.timeOrigin + performance.now()

/** A dataset of `rows` audio-text rows under bench/.cache (made once; reused while its manifest is there). */
async function benchDataset(rows: number): Promise<string> {
  const dir = join(CACHE, `view-${rows}`)
  if (existsSync(join(dir, 'manifest.json'))) return dir
  await rm(dir, { recursive: true, force: true })
  const [{ DatasetWriter }, { loadSchema }, { seededRandom, pick }, { WORLD_OBJECTS, captionFor }, { createTokenizer }, { loadVocab }] = await Promise.all([
    import('../src/dataset/writer.js'), import('../src/dataset/schema.js'), import('../src/random.js'), import('../src/fixtures/world.js'),
    import('../src/text/wordpiece.js'), import('../src/text/vocab.js'),
  ])
  const vocab = loadVocab()
  const tokenizer = createTokenizer(vocab)
  const random = seededRandom(11)
  const nMels = 32
  const splits = ['train', 'train', 'train', 'train', 'train', 'train', 'train', 'train', 'val', 'test']
  const data = Array.from({ length: rows }, (_, i) => {
    const frames = 8 + (i % 9)
    const split = splits[i % splits.length]!
    const caption = captionFor(random, pick(random, WORLD_OBJECTS))
    const id = `clip${String(i).padStart(6, '0')}`
    return {
      key: `audiocaps/${split}/${id}`, corpus: 'audiocaps', split, source_path: `audio/${split}/${id}.wav`,
      duration_sec: ((frames - 1) * 1024) / 22050, num_samples: (frames - 1) * 1024, frames, n_mels: nMels,
      log_mel: new Float32Array(frames * nMels).map(() => -80 + 80 * random()),
      captions: [caption], token_ids: [tokenizer.encode(caption)],
      rms_dbfs: -40 + 30 * random(), peak: random(), spectral_flatness: random(), silent: false, source_ids: [`youtube_id:${id}`],
    }
  })
  await DatasetWriter.write(dir, {
    pipeline: 'audiocaps',
    schema: await loadSchema('audio-text'),
    settings: { audio: { sampleRate: 22050, hopLength: 1024, nMels, fmin: 0, fmax: 11025 }, text: { vocabHash: vocab.hash, maxTokens: 30 }, bench: 'view' },
    rows: data,
    shardRows: 1000,
    note: () => {},
  })
  return dir
}

/** Resident set size of process `pid` now and at its peak (VmHWM), MB. */
function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** The viewer in a child process: prints {url, startedAt} once listening. */
async function serve(dir: string): Promise<void> {
  const { startViewer } = await import('../src/view/server.js')
  const startedAt = now()
  const viewer = await startViewer({ location: dir, log: (line) => process.stderr.write(`${line}\n`) })
  process.stdout.write(`${JSON.stringify({ url: viewer.url, startedAt })}\n`)
  process.on('SIGTERM', () => void viewer.close().then(() => process.exit(0)))
}

/** The figures (see the file comment). Throws when the server fails to start. */
export async function benchView(rows = 20_000): Promise<Record<string, number | string>> {
  let t = now()
  const dir = await benchDataset(rows)
  const datasetSeconds = (now() - t) / 1000
  const spawnedAt = now()
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, 'serve', dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`the viewer exited with ${code} before it listened`)))
    })
    const { url, startedAt } = JSON.parse(first) as { url: string; startedAt: number }
    const get = async (path: string): Promise<unknown> => {
      const response = await fetch(new URL(path, url))
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
      return await response.json()
    }
    let peakSampled = 0
    const sample = (): void => {
      peakSampled = Math.max(peakSampled, rssOf(child.pid!).rss)
    }
    await get('/api/rows?offset=0&limit=50')
    const firstPageAt = now()
    sample()
    const rssAfterFirstPage = rssOf(child.pid!).rss
    t = now()
    await get('/api/rows?split=val&limit=50') // waits for the index
    const firstFilteredMs = now() - t
    let info = (await get('/api/info')) as { index: { buildMs: number; approxBytes: number; state: string }; verification: { state: string; seconds?: number } }
    t = now()
    await get('/api/rows?sort=rms_dbfs&order=desc&limit=50') // reads the column once
    const firstSortedMs = now() - t
    sample()
    // Every row, 100 a page, in key order.
    const limit = 100
    t = now()
    let pages = 0
    for (let offset = 0; offset < rows; offset += limit) {
      const page = (await get(`/api/rows?offset=${offset}&limit=${limit}`)) as { rows: unknown[] }
      if (page.rows.length !== Math.min(limit, rows - offset)) throw new Error(`page at ${offset}: ${page.rows.length} rows`)
      pages++
      if (pages % 10 === 0) sample()
    }
    const naturalMs = now() - t
    sample()
    const rssAfterNatural = peakSampled
    // Every row in sorted order: a page's rows are spread over many row groups.
    t = now()
    let sortedPages = 0
    for (let offset = 0; offset < rows; offset += limit) {
      await get(`/api/rows?sort=rms_dbfs&order=asc&offset=${offset}&limit=${limit}`)
      sortedPages++
      if (sortedPages % 10 === 0) sample()
    }
    const sortedMs = now() - t
    sample()
    // One row in full and its log-mel, as the detail view asks.
    t = now()
    for (let i = 0; i < 50; i++) {
      const index = Math.floor((i * rows) / 50)
      await get(`/api/rows/${index}`)
      await (await fetch(new URL(`/api/rows/${index}/log-mel`, url))).arrayBuffer()
    }
    const detailMs = (now() - t) / 50
    info = (await get('/api/info')) as typeof info
    const { peak } = rssOf(child.pid!)
    return {
      rows,
      partFiles: Math.ceil(rows / 1000),
      datasetSeconds: round(datasetSeconds),
      startToFirstPageMs: round(firstPageAt - startedAt),
      processStartToFirstPageMs: round(firstPageAt - spawnedAt),
      indexBuildMs: info.index.buildMs,
      indexApproxMb: round(info.index.approxBytes / 1e6, 2),
      firstFilteredPageMs: round(firstFilteredMs),
      firstSortedPageMs: round(firstSortedMs),
      naturalPages: pages,
      naturalMsPerPage: round(naturalMs / pages, 2),
      sortedPages,
      sortedMsPerPage: round(sortedMs / sortedPages, 2),
      rowDetailAndLogMelMs: round(detailMs, 2),
      verification: `${info.verification.state}${info.verification.seconds !== undefined ? ` in ${info.verification.seconds} s` : ''}`,
      rssAfterFirstPageMb: round(rssAfterFirstPage),
      rssMaxWhilePagingInOrderMb: round(rssAfterNatural),
      rssMaxSampledMb: round(peakSampled),
      rssPeakMb: round(peak),
    }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))
  }
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'serve') await serve(process.argv[3]!)
  else process.stdout.write(`${JSON.stringify(await benchView(process.argv[2] ? Number(process.argv[2]) : undefined))}\n`)
}
