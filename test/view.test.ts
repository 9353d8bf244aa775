// `turnkit view` end to end: datasets of every record kind made with the real `turnkit fixtures` + `turnkit
// prepare`, the viewer started on them, and the page driven in headless Chromium (Debian's /usr/bin/chromium
// through playwright-core): counts, boxes, log-mel, escaping of hostile captions, the ledger, predictions. The
// server's safety (paths, clients) is tested with raw HTTP, without a browser. Screenshots of each view go to
// docs/img/view-*.png (1280x800) for the README.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { runCli } from './helpers/cli.js'
import { tempDir } from './helpers/temp.js'
import { serveFolder } from './helpers/servers.js'
import { openDataset } from '../src/dataset/dataset.js'
import { scoreDataset } from '../src/train/score-dataset.js'
import { isLoopbackAddress, isLoopbackHost, refusal, startViewer, type Viewer } from '../src/view/server.js'
import { runView } from '../src/view/run.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SHOTS = join(ROOT, 'docs', 'img')
const CHROMIUM = process.env.TURNKIT_TEST_CHROMIUM ?? '/usr/bin/chromium' // Debian's chromium package
const XSS = '<img src=x onerror=alert(1)>'

const browserSkip: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (Debian: apt-get install chromium)`
if (browserSkip) process.stdout.write(`# skipping the browser tests of turnkit view: ${browserSkip}\n`)

interface Fixtures {
  audio: string // audio-text (audiocaps, with --corrupt and a hostile caption)
  image: string // image-text-box (refcoco)
  boxes: string // audio-image-boxes (flickr-soundnet, with --corrupt: a dropped box, rejects)
  preds: string // predictions for `boxes`
  xssKey: string
}

async function prepared(work: string, corpus: string, fixtureArgs: string[], edit?: (src: string) => Promise<void>): Promise<string> {
  const src = join(work, `${corpus}-src`)
  const out = join(work, corpus)
  const made = await runCli(['fixtures', corpus, '--out', src, ...fixtureArgs])
  assert.equal(made.code, 0, made.stderr)
  await edit?.(src)
  const run = await runCli(['prepare', corpus, '--src', src, '--out', out, '--workers', '1', '--max-reject-ratio', '1', '--quiet'])
  assert.equal(run.code, 0, run.stderr)
  return out
}

let fixtures: Promise<Fixtures> | undefined
/** The three datasets, made once per test process (the three prepares run side by side). */
function buildFixtures(): Promise<Fixtures> {
  fixtures ??= (async () => {
    const work = await tempDir('view-')
    let xssKey = ''
    const [audio, image, boxes] = await Promise.all([
      prepared(work, 'audiocaps', ['--clips', '12', '--seconds', '2', '--corrupt', '--seed', '1'], async (src) => {
        // The first train caption becomes markup: the page must show it as text.
        const path = join(src, 'train.csv')
        const lines = (await readFile(path, 'utf8')).split('\n')
        const cells = lines[1]!.split(',')
        assert.equal(cells.length, 4, lines[1])
        xssKey = `audiocaps/train/${cells[1]}`
        lines[1] = [...cells.slice(0, 3), XSS].join(',')
        await writeFile(path, lines.join('\n'))
      }),
      prepared(work, 'refcoco', ['--clips', '2', '--seed', '1']),
      prepared(work, 'flickr-soundnet', ['--clips', '5', '--corrupt', '--seed', '1']),
    ])
    // One prediction per item: annotator 0's box moved right by a different amount each, so every cIoU differs.
    const lines: string[] = []
    let i = 0
    for await (const row of (await openDataset(boxes)).rows({ columns: ['key', 'boxes'] })) {
      const [x, y, w, h] = Array.from((row.boxes as Float32Array[])[0]!)
      lines.push(JSON.stringify({ key: row.key, box: [Math.min(0.9, x! + 0.03 + 0.09 * i++), y, w, h] }))
    }
    const preds = join(work, 'preds.jsonl')
    await writeFile(preds, lines.join('\n') + '\n')
    return { audio, image, boxes, preds, xssKey }
  })()
  return fixtures
}

/** Rows of a dataset with only `columns`, in order. */
async function rowsOf(dir: string, columns: string[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = []
  for await (const row of (await openDataset(dir)).rows({ columns })) out.push(row)
  return out
}

/** The largest difference of one colour channel between two PNGs of a size; 255 when their sizes differ. */
async function largestDifference(a: Uint8Array, b: Uint8Array): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((png) => sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true })))
  if (x!.info.width !== y!.info.width || x!.info.height !== y!.info.height) return 255
  let largest = 0
  for (let i = 0; i < x!.data.length; i++) largest = Math.max(largest, Math.abs(x!.data[i]! - y!.data[i]!))
  return largest
}

/** One raw HTTP/1.1 request line as given (no normalisation), the response's status and body. */
function rawRequest(port: number, target: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`))
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (text += chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) })
    })
  })
}

describe('turnkit view: the server', { timeout: 120_000 }, () => {
  let f: Fixtures
  let viewer: Viewer
  before(async () => {
    f = await buildFixtures()
    viewer = await startViewer({ location: f.boxes, predsPath: f.preds, log: () => {} })
    await viewer.ready
  })
  after(async () => {
    await viewer?.close()
  })

  it('answers 404 to every path outside its allow-list, encoded or not', async () => {
    const port = Number(new URL(viewer.url).port)
    const targets = [
      '/../../etc/passwd', '/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/%252e%252e%252fetc%252fpasswd',
      '/vendor/../../../../etc/passwd', '/vendor/%2e%2e/%2e%2e/package.json', '/etc/passwd', '//etc/passwd', '/./app.js/../../etc/passwd',
      'http://127.0.0.1/etc/passwd', '/api/rows/0/../../../../etc/passwd', '/api/rows/0%2f..%2f..%2fetc%2fpasswd', '/..\\..\\etc\\passwd',
      '/assets/view/app.js', '/package.json', '/node_modules/preact/package.json', '/api/rows/-1', '/api/rows/99999999',
    ]
    for (const target of targets) {
      const { status, body } = await rawRequest(port, target)
      assert.ok(status === 404 || status === 400, `${target}: ${status}`)
      assert.doesNotMatch(body, /root:|"name": *"turnkit"|"name":"preact"/, target)
    }
    // The allow-listed files are there.
    for (const target of ['/', '/app.js', '/style.css', '/vendor/preact.mjs', '/vendor/preact-hooks.mjs', '/vendor/htm.mjs']) assert.equal((await rawRequest(port, target)).status, 200, target)
  })

  it('refuses non-loopback clients and foreign Host names unless given a host explicitly', async () => {
    for (const a of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(a), true, a)
    for (const a of ['10.0.0.1', '192.168.1.20', '::ffff:10.1.2.3', 'fe80::1', '0.0.0.0', '', undefined]) assert.equal(isLoopbackAddress(a), false, String(a))
    for (const h of ['127.0.0.1:8737', 'localhost:8737', 'localhost', '[::1]:8737']) assert.equal(isLoopbackHost(h), true, h)
    for (const h of ['evil.example:8737', '127.0.0.1.evil.example', '10.0.0.1:8737', undefined]) assert.equal(isLoopbackHost(h), false, String(h))
    assert.match(refusal('192.168.1.20', '127.0.0.1:8737', false) ?? '', /not a loopback client/)
    assert.match(refusal('127.0.0.1', 'evil.example:8737', false) ?? '', /not a loopback name/)
    assert.equal(refusal('127.0.0.1', '127.0.0.1:8737', false), null)
    assert.equal(refusal('192.168.1.20', 'host:8737', true), null)
    // Through the socket: a request naming another host (a DNS-rebinding page) is refused.
    const port = Number(new URL(viewer.url).port)
    const { status, body } = await rawRequest(port, '/api/info', 'evil.example')
    assert.equal(status, 403)
    assert.match(body, /not a loopback name/)
  })

  it('serves pages, rows, images, log-mels and scores as the dataset holds them', async () => {
    const get = async (path: string): Promise<Response> => await fetch(new URL(path, viewer.url))
    const rows = await rowsOf(f.boxes, ['key', 'frames', 'n_mels', 'boxes'])
    const page = (await (await get('/api/rows?limit=2')).json()) as { total: number; rows: { key: string; index: number }[] }
    assert.equal(page.total, rows.length)
    assert.deepEqual(page.rows.map((r) => r.key), rows.slice(0, 2).map((r) => r.key))
    const mel = await get('/api/rows/1/log-mel')
    assert.equal(mel.headers.get('x-frames'), String(rows[1]!.frames))
    assert.equal((await mel.arrayBuffer()).byteLength, (rows[1]!.frames as number) * (rows[1]!.n_mels as number) * 4)
    const jpeg = new Uint8Array(await (await get('/api/rows/0/image')).arrayBuffer())
    assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8])
    const sorted = (await (await get('/api/rows?sort=ciou&order=asc&limit=100')).json()) as { rows: { key: string; ciou: number }[] }
    const report = await scoreDataset(f.preds, f.boxes, { log: () => {} })
    const ciouOf = new Map(report.perItem.map((p) => [p.key, p.ciou]))
    assert.deepEqual(sorted.rows.map((r) => r.ciou), [...report.perItem.map((p) => p.ciou)].sort((a, b) => a - b))
    for (const r of sorted.rows) assert.equal(r.ciou, ciouOf.get(r.key))
    const scores = (await (await get('/api/scores')).json()) as { overall: unknown; perClass: unknown }
    assert.deepEqual(scores.overall, report.overall)
    assert.deepEqual(scores.perClass, report.perClass)
    assert.equal((await get('/api/rows?sort=no_such_column')).status, 400)
    assert.equal((await get('/api/rows?limit=100000')).status, 400)
    assert.equal((await fetch(new URL('/api/info', viewer.url), { method: 'POST' })).status, 405)
    const html = await get('/')
    assert.match(html.headers.get('content-security-policy') ?? '', /script-src 'self' 'sha256-/)
  })

  it('reads a dataset served over HTTP through the part cache', async () => {
    const served = await serveFolder(f.image)
    const cacheDir = await tempDir('view-cache-')
    const remote = await startViewer({ location: served.url, data: { cacheDir }, log: () => {} })
    try {
      await remote.ready
      const rows = await rowsOf(f.image, ['key'])
      const page = (await (await fetch(new URL('/api/rows', remote.url))).json()) as { total: number; rows: { key: string }[] }
      assert.equal(page.total, rows.length)
      assert.deepEqual(page.rows.map((r) => r.key), rows.map((r) => r.key))
      const jpeg = new Uint8Array(await (await fetch(new URL('/api/rows/0/image', remote.url))).arrayBuffer())
      assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8])
      assert.equal(remote.data.verification.state === 'ok' || remote.data.verification.state === 'running', true)
    } finally {
      await remote.close()
      await served.stop()
    }
  })

  it('says so when a part file no longer matches the manifest', async () => {
    const copy = join(await tempDir('view-damaged-'), 'refcoco')
    await cp(f.image, copy, { recursive: true })
    const part = join(copy, 'part-00000.parquet')
    const bytes = await readFile(part)
    bytes[200] = bytes[200]! ^ 0xff // a data page, not the footer: the file still opens
    await writeFile(part, bytes)
    const damaged = await startViewer({ location: copy, log: () => {} })
    try {
      for (let i = 0; i < 200 && damaged.data.verification.state === 'running'; i++) await new Promise((r) => setTimeout(r, 50))
      const info = (await (await fetch(new URL('/api/info', damaged.url))).json()) as { verification: { state: string; message: string } }
      assert.equal(info.verification.state, 'damaged')
      assert.match(info.verification.message, /part-00000\.parquet: sha256 .* the manifest says/)
      // Its rows are not read (parquet-wasm may abort on a corrupt page): the API says why instead.
      const rows = await fetch(new URL('/api/rows', damaged.url))
      assert.equal(rows.status, 409)
      assert.match(((await rows.json()) as { error: string }).error, /part-00000\.parquet/)
    } finally {
      await damaged.close()
    }
  })

  it('refuses predictions for a dataset that is not audio-image-boxes, and stops runView on its signal', async () => {
    await assert.rejects(startViewer({ location: f.audio, predsPath: f.preds, log: () => {} }), /audio-image-boxes/)
    const controller = new AbortController()
    const lines: string[] = []
    const running = runView({ location: f.image, port: 0, verifyData: false, signal: controller.signal }, (line) => {
      lines.push(line)
      if (line.includes('serving')) controller.abort()
    })
    assert.equal(await running, 'aborted')
    assert.ok(lines.some((l) => /serving http:\/\/127\.0\.0\.1:\d+\//.test(l)), lines.join('\n'))
  })
})

describe('turnkit view: the page in Chromium', { skip: browserSkip, timeout: 150_000 }, () => {
  // Types only: playwright-core is a dev dependency, loaded when the browser tests run.
  type Playwright = typeof import('playwright-core')
  let f: Fixtures
  let browser: Awaited<ReturnType<Playwright['chromium']['launch']>>
  let page: Awaited<ReturnType<typeof browser.newPage>>
  const viewers: Record<'audio' | 'image' | 'boxes', Viewer> = {} as never
  const dialogs: string[] = []
  const pageErrors: string[] = []

  before(async () => {
    const { chromium } = (await import('playwright-core')) as Playwright
    ;[f, browser] = await Promise.all([
      buildFixtures(),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] }),
    ])
    // Titles instead of the temporary folders, so that the screenshots are the same on every run.
    viewers.audio = await startViewer({ location: f.audio, title: 'datasets/audiocaps', log: () => {} })
    viewers.image = await startViewer({ location: f.image, title: 'datasets/refcoco', log: () => {} })
    viewers.boxes = await startViewer({ location: f.boxes, title: 'datasets/flickr-soundnet', predsPath: f.preds, log: () => {} })
    await Promise.all(Object.values(viewers).map((v) => v.ready))
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 })
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await mkdir(SHOTS, { recursive: true })
  })
  after(async () => {
    await browser?.close()
    for (const v of Object.values(viewers)) await v.close()
    assert.deepEqual(pageErrors, [])
  })

  const open = async (viewer: Viewer, hash: string): Promise<void> => {
    await page.goto(`${viewer.url}${hash}`)
    await page.waitForSelector('main')
  }
  const shot = async (name: string): Promise<void> => {
    await page.mouse.move(0, 0)
    await page.waitForLoadState('networkidle')
    const png = await page.screenshot()
    const path = join(SHOTS, `view-${name}.png`)
    // Chromium's text anti-aliasing varies a few pixels by 1 or 2 levels between runs: keep the committed file
    // unless the picture really changed, so that running the tests leaves the work tree as it was.
    if (existsSync(path) && (await largestDifference(await readFile(path), png)) <= 8) return
    await writeFile(path, png)
  }

  it('pages the rows table and filters it to the per-split count', async () => {
    const rows = await rowsOf(f.audio, ['split'])
    const perSplit = new Map<string, number>()
    for (const r of rows) perSplit.set(r.split as string, (perSplit.get(r.split as string) ?? 0) + 1)
    assert.equal(rows.length, 12)
    await open(viewers.audio, '#/rows?limit=10')
    await page.waitForSelector('tr.data-row')
    assert.equal(await page.locator('tr.data-row').count(), 10)
    assert.equal(await page.getAttribute('.pager .count', 'data-total'), '12')
    await shot('table')
    await page.click('button.next')
    await page.waitForFunction(() => document.querySelector('.pager .count')?.textContent?.includes('rows 11'))
    assert.equal(await page.locator('tr.data-row').count(), 2)
    for (const [split, n] of perSplit) {
      await page.selectOption('select[name=split]', split)
      await page.waitForFunction((want) => document.querySelector('.pager .count')?.getAttribute('data-total') === want, String(n))
      assert.equal(await page.locator('tr.data-row').count(), Math.min(10, n), split)
      const shown = await page.locator('tr.data-row td:nth-child(3)').allTextContents()
      assert.deepEqual([...new Set(shown)], [split])
    }
  })

  it('shows a caption holding markup as text and runs nothing', async () => {
    const found = (await (await fetch(new URL(`/api/rows?q=${encodeURIComponent(f.xssKey)}`, viewers.audio.url))).json()) as { rows: { index: number; captions: string[] }[] }
    assert.equal(found.rows.length, 1)
    assert.deepEqual(found.rows[0]!.captions, [XSS])
    await open(viewers.audio, `#/rows?q=${encodeURIComponent(f.xssKey)}`)
    await page.waitForSelector('tr.data-row')
    assert.equal(await page.locator('tr.data-row td.text').first().textContent(), XSS)
    await open(viewers.audio, `#/row/${found.rows[0]!.index}`)
    await page.waitForSelector('ol.texts .text')
    assert.equal(await page.locator('ol.texts .text').first().textContent(), XSS)
    const tokens = await page.locator('ol.texts .tokens').first().locator('.token').allTextContents()
    assert.equal(tokens[0], '[CLS]')
    assert.equal(tokens.at(-1), '[SEP]')
    await page.waitForTimeout(300) // an injected onerror would have fired by now
    assert.equal(await page.locator('img').count(), 0)
    assert.equal(await page.evaluate(() => document.querySelectorAll('[onerror]').length), 0)
    assert.deepEqual(dialogs, [])
  })

  it('draws the log-mel one canvas cell per frame and band', async () => {
    const rows = await rowsOf(f.audio, ['frames', 'n_mels'])
    for (const index of [0, rows.length - 1]) {
      await open(viewers.audio, `#/row/${index}`)
      await page.waitForSelector('figure.log-mel figcaption .colourbar')
      const size = await page.$eval('canvas.log-mel-canvas', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height])
      assert.deepEqual(size, [rows[index]!.frames, rows[index]!.n_mels])
      // Drawn: the pixels are not all one colour.
      const distinct = await page.$eval('canvas.log-mel-canvas', (c) => {
        const canvas = c as HTMLCanvasElement
        const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
        return new Set(Array.from({ length: d.length / 4 }, (_, i) => `${d[4 * i]},${d[4 * i + 1]},${d[4 * i + 2]}`)).size
      })
      assert.ok(distinct > 10, `${distinct} colours`)
    }
  })

  it('draws every box of a row on its image', async () => {
    const boxed = await rowsOf(f.boxes, ['boxes', 'dropped_boxes'])
    assert.ok(boxed.some((r) => (r.dropped_boxes as string[]).length > 0), 'the fixture has a row with a dropped box')
    for (const [index, row] of boxed.entries()) {
      await open(viewers.boxes, `#/row/${index}`)
      await page.waitForSelector('svg.frame-svg')
      assert.equal(await page.locator('svg.frame-svg rect.box.gt').count(), (row.boxes as unknown[]).length, `row ${index}`)
      assert.equal(await page.locator('svg.frame-svg rect.box.pred').count(), 1)
      if (index === 0) {
        await page.waitForSelector('figure.log-mel figcaption .colourbar')
        await shot('row')
      }
    }
    const images = await rowsOf(f.image, ['box'])
    await open(viewers.image, `#/row/${images.length - 1}`)
    await page.waitForSelector('svg.frame-svg')
    assert.equal(await page.locator('svg.frame-svg rect.box.gt').count(), 1)
  })

  it('lists every ledger line, grouped by reason', async () => {
    const ledger = (await readFile(join(f.audio, 'rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { key: string; code: string })
    assert.ok(ledger.length >= 5)
    await open(viewers.audio, '#/ledger')
    await page.waitForSelector('tr.reject-line')
    assert.equal(await page.locator('tr.reject-line').count(), ledger.length)
    assert.deepEqual((await page.locator('tr.reject-line td:first-child').allTextContents()).sort(), ledger.map((l) => l.key).sort())
    const codes = await page.locator('section.reject-group').evaluateAll((sections) => sections.map((s) => [s.getAttribute('data-code'), s.querySelectorAll('tr.reject-line').length]))
    const byCode = new Map<string, number>()
    for (const l of ledger) byCode.set(l.code, (byCode.get(l.code) ?? 0) + 1)
    assert.deepEqual(new Map(codes as [string, number][]), byCode)
    await shot('ledger')
  })

  it('shows the manifest: version, counts and every part file', async () => {
    const manifest = JSON.parse(await readFile(join(f.audio, 'manifest.json'), 'utf8')) as { version: string; shards: { file: string; sha256: string }[] }
    await open(viewers.audio, '#/manifest')
    await page.waitForSelector('tr.shard')
    assert.match((await page.textContent('section.manifest'))!, new RegExp(manifest.version))
    assert.deepEqual(await page.locator('tr.shard td:first-child').allTextContents(), manifest.shards.map((s) => s.file))
    await page.waitForFunction(() => !document.querySelector('.split-counts')?.textContent?.includes('…'))
    await shot('manifest')
  })

  it('sorts predictions by cIoU: the worst first, with the cIoU turnkit score gives it', async () => {
    const report = await scoreDataset(f.preds, f.boxes, { log: () => {} })
    const worst = [...report.perItem].sort((a, b) => a.ciou - b.ciou)[0]!
    const best = [...report.perItem].sort((a, b) => b.ciou - a.ciou)[0]!
    assert.ok(worst.ciou < best.ciou)
    await open(viewers.boxes, '#/predictions?order=desc')
    await page.waitForSelector('tr.pred-row')
    assert.equal(await page.getAttribute('tr.pred-row >> nth=0', 'data-key'), best.key)
    await page.click('button.sort-ciou')
    await page.waitForFunction((key) => document.querySelector('tr.pred-row')?.getAttribute('data-key') === key, worst.key)
    assert.equal(Number(await page.getAttribute('tr.pred-row >> nth=0', 'data-ciou')), worst.ciou)
    // The first item is drawn beside its query: ground truth and prediction on the frame, the log-mel next to it.
    await page.waitForSelector('.pred-detail svg.frame-svg rect.box.pred')
    await page.waitForSelector('.pred-detail figure.log-mel figcaption .colourbar')
    assert.equal(Number(await page.getAttribute('.pred-detail .ciou', 'data-ciou')), worst.ciou)
    const perClass = await page.locator('tr.class-row').count()
    assert.equal(perClass, Object.keys(report.perClass).length)
    // The screenshot from a fresh load of the sorted view, nothing hovered or in flight.
    await open(viewers.boxes, '#/predictions?order=asc')
    await page.waitForSelector('.pred-detail figure.log-mel figcaption .colourbar')
    await shot('predictions')
  })
})
