import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import sharp from 'sharp'
import { CORPORA } from '../src/cli/corpora.js'
import { contactSheet, drawOverlay, readOverlayItems, safeFileKey, selectOverlays, writeOverlays, type OverlayItem } from '../src/train/overlays.js'
import { readEvaluationItems } from '../src/train/score-dataset.js'
import { runCli } from './helpers/cli.js'
import { tempDir } from './helpers/temp.js'

const GREY = 128

async function greyJpeg(width: number, height: number): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width, height, channels: 3, background: { r: GREY, g: GREY, b: GREY } } }).jpeg({ quality: 95 }).toBuffer())
}

async function pixels(png: Uint8Array): Promise<{ at: (x: number, y: number) => [number, number, number]; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const at = (x: number, y: number): [number, number, number] => {
    const i = (y * info.width + x) * info.channels
    return [data[i]!, data[i + 1]!, data[i + 2]!]
  }
  return { at, width: info.width, height: info.height }
}

const isCyan = ([r, g, b]: [number, number, number]): boolean => g > 180 && b > 180 && r < 80
const isRed = ([r, g, b]: [number, number, number]): boolean => r > 200 && g < 80 && b < 80
const isGrey = (p: [number, number, number]): boolean => p.every((c) => Math.abs(c - GREY) <= 4)

describe('drawOverlay', () => {
  it('draws the ground truth cyan on its edge and the prediction red on its edge, leaving the rest', async () => {
    // 384 x 384 frame: GT box x in [96, 288), y in [96, 288); prediction x in [192, 288), y in [192, 288).
    const png = await drawOverlay({ jpeg: await greyJpeg(384, 384), gtBoxes: [[0.25, 0.25, 0.5, 0.5]], predBox: [0.5, 0.5, 0.25, 0.25], label: 'dog', ciou: 0.25 })
    const p = await pixels(png)
    assert.ok(isCyan(p.at(96, 150)), `GT left edge: ${p.at(96, 150).join(',')}`)
    assert.ok(isCyan(p.at(150, 96)), `GT top edge: ${p.at(150, 96).join(',')}`)
    assert.ok(isRed(p.at(192, 240)), `prediction left edge: ${p.at(192, 240).join(',')}`)
    assert.ok(isRed(p.at(240, 192)), `prediction top edge: ${p.at(240, 192).join(',')}`)
    for (const [x, y] of [[150, 150], [240, 240], [20, 20], [92, 150]] as const) assert.ok(isGrey(p.at(x, y)), `untouched at ${x},${y}: ${p.at(x, y).join(',')}`)
    // 3 px lines at 384: the stroke is about 3 px wide across the edge.
    const red = [189, 190, 191, 192, 193, 194, 195].filter((x) => isRed(p.at(x, 240)))
    assert.ok(red.length >= 2 && red.length <= 4, `red stroke width ${red.length}`)
  })

  it('adds a caption strip below the picture with visible text', async () => {
    const png = await drawOverlay({ jpeg: await greyJpeg(384, 256), gtBoxes: [], predBox: [0, 0, 1, 1], label: 'acoustic guitar', ciou: 0.5 })
    const p = await pixels(png)
    assert.equal(p.width, 384)
    assert.ok(p.height > 256 && p.height <= 256 + 40, `height ${p.height}`)
    let white = 0
    for (let y = 256; y < p.height; y++) for (let x = 0; x < 200; x++) if (p.at(x, y).every((c) => c > 230)) white++
    assert.ok(white > 100, `text pixels in the strip: ${white}`)
  })

  it('resizes the frame to the given width and height', async () => {
    const png = await drawOverlay({ jpeg: await greyJpeg(100, 50), gtBoxes: [], predBox: null, label: '', ciou: 0, width: 400, height: 200 })
    const { width, height } = await sharp(png).metadata()
    assert.equal(width, 400)
    assert.ok(height! > 200)
  })
})

describe('contactSheet', () => {
  it('is columns x rows cells of the given width', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 100, height: 80, channels: 3, background: '#f00' } }).png().toBuffer())
    const sheet = await contactSheet([{ images: [png, png, png, png, png] }], { columns: 2, cellWidth: 64 })
    // Each tile is 60 x 48 (64 minus a 2 px gutter each side), so cells are 64 x 52; 5 images -> 2 x 3 cells.
    const { width, height } = await sharp(sheet).metadata()
    assert.deepEqual({ width, height }, { width: 2 * 64, height: 3 * 52 })
    const p = await pixels(sheet)
    assert.ok(!isRed(p.at(64 + 30, 52 * 2 + 20)), 'the sixth cell is empty')
    assert.deepEqual(p.at(64 + 30, 52 + 20), [255, 0, 0])
  })

  it('puts each titled section on rows of its own under an 18 px title strip', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 100, height: 80, channels: 3, background: '#f00' } }).png().toBuffer())
    const sheet = await contactSheet([{ title: 'best 3', images: [png, png, png] }, { title: 'worst 1', images: [png] }], { columns: 2, cellWidth: 64 })
    // best: title + 2 rows, worst: title + 1 row
    const { width, height } = await sharp(sheet).metadata()
    assert.deepEqual({ width, height }, { width: 2 * 64, height: 18 + 2 * 52 + 18 + 52 })
    const p = await pixels(sheet)
    assert.ok(!isRed(p.at(64 + 30, 18 + 52 + 20)), 'best has three images: the fourth cell is empty')
    assert.deepEqual(p.at(30, 18 + 2 * 52 + 18 + 20), [255, 0, 0]) // worst starts a row of its own
    const strip = [...Array(60).keys()].map((x) => p.at(x + 2, 18 + 2 * 52 + 8))
    assert.ok(strip.some(([r, g, b]) => r! > 200 && g! > 200 && b! > 200), 'the title strip holds white text')
  })

  it('keeps the ground truth visible on a green object: its colour is far from the green of the world', async () => {
    const green = await sharp({ create: { width: 128, height: 128, channels: 3, background: '#27ae60' } }).jpeg().toBuffer()
    const p = await pixels(await drawOverlay({ jpeg: new Uint8Array(green), gtBoxes: [[0.25, 0.25, 0.5, 0.5]], predBox: null, label: 'frog', ciou: 0 }))
    const [r, g, b] = p.at(32, 64)
    const [gr, gg, gb] = p.at(64, 64) // inside the box: the object's green
    assert.ok(Math.abs(r - gr) + Math.abs(g - gg) + Math.abs(b - gb) > 150, `GT edge ${r},${g},${b} vs object ${gr},${gg},${gb}`)
  })

  it('throws on no images', async () => {
    await assert.rejects(contactSheet([]), /no images/)
  })
})

describe('selectOverlays', () => {
  const items = ['e', 'a', 'c', 'b', 'd', 'f', 'g'].map((key, i) => ({ key, ciou: [0.9, 0.1, 0.5, 0.9, 0.3, 0.0, 0.7][i]! }))

  it('picks the highest and lowest cIoU, ties by key, whatever the input order', () => {
    const pick = (list: typeof items): string[] => selectOverlays(list, { best: 2, worst: 2, random: 0 }).map((p) => `${p.group}-${p.rank}-${p.item.key}`)
    assert.deepEqual(pick(items), ['best-1-b', 'best-2-e', 'worst-1-f', 'worst-2-a'])
    assert.deepEqual(pick([...items].reverse()), pick(items))
  })

  it('draws the random sample from the rest with a fixed seed', () => {
    const random = (seed: number): string[] => selectOverlays(items, { best: 2, worst: 2, random: 2, seed }).filter((p) => p.group === 'random').map((p) => p.item.key)
    assert.deepEqual(random(3), random(3))
    assert.equal(random(3).length, 2)
    for (const key of random(3)) assert.ok(['c', 'd', 'g'].includes(key), key)
  })
})

describe('safeFileKey', () => {
  it('keeps no path separators and no ..', () => {
    assert.deepEqual(['vggss/test/--PJHxphWEs_000030', '../../etc/passwd', 'a b\\c', '', '..'].map(safeFileKey), ['vggss_test_--PJHxphWEs_000030', '_etc_passwd', 'a_b_c', 'item', '_'])
  })
})

describe('writeOverlays', () => {
  it('writes best, worst and random overlays with safe names, and a contact sheet', async () => {
    const dir = await tempDir('overlays-')
    const jpeg = await greyJpeg(96, 64)
    const item = (key: string, ciou: number): OverlayItem => ({ key, label: 'dog', ciou, jpeg, gtBoxes: [[0.1, 0.1, 0.5, 0.5]], predBox: [0.2, 0.2, 0.5, 0.5] })
    const items = [item('vggss/test/mid', 0.5), item('vggss/test/top', 0.95), item('../escape', 0.01), item('vggss/test/low', 0.2), item('vggss/test/good', 0.8)]
    const paths = await writeOverlays(dir, items, { best: 2, worst: 2, random: 1, seed: 0 })
    assert.deepEqual(paths.map((p) => basename(p)), [
      'best-01-vggss_test_top.png', 'best-02-vggss_test_good.png',
      'worst-01-_escape.png', 'worst-02-vggss_test_low.png',
      'random-01-vggss_test_mid.png', 'contact-sheet.png',
    ])
    for (const p of paths) assert.equal(join(dir, 'vis', basename(p)), p)
    const { width } = await sharp(await readFile(join(dir, 'vis', 'contact-sheet.png'))).metadata()
    assert.equal(width, 4 * 256)
  })

  it('removes overlays of an earlier selection', async () => {
    const dir = await tempDir('overlays-')
    await mkdir(join(dir, 'vis'))
    await writeFile(join(dir, 'vis', 'best-07-old.png'), 'stale')
    await writeFile(join(dir, 'vis', 'notes.txt'), 'kept')
    const jpeg = await greyJpeg(32, 32)
    await writeOverlays(dir, [{ key: 'k', label: 'x', ciou: 1, jpeg, gtBoxes: [], predBox: null }], { best: 1, worst: 0, random: 0 })
    assert.deepEqual((await readdir(join(dir, 'vis'))).sort(), ['best-01-k.png', 'contact-sheet.png', 'notes.txt'])
  })
})

describe('readOverlayItems', () => {
  it('reads the frames and boxes of the selected items from a prepared vggss dataset', async () => {
    const work = await tempDir('overlay-data-')
    await CORPORA.vggss.writeFixture(join(work, 'src'), { clips: 6, seed: 1, corrupt: false, seconds: 2 })
    const prepare = await runCli(['prepare', 'vggss', '--src', join(work, 'src'), '--out', join(work, 'out'), '--workers', '2', '--quiet'])
    assert.equal(prepare.code, 0, prepare.stderr)
    const all = await readEvaluationItems(join(work, 'out'))
    const scored = all.map((item, i) => ({ key: item.key, label: item.label, ciou: i / all.length }))
    const predictions = new Map(all.slice(1).map((item) => [item.key, [0.1, 0.1, 0.5, 0.5]]))
    const items = await readOverlayItems(join(work, 'out'), scored, predictions, { best: 1, worst: 1, random: 0 })
    const byKey = new Map(all.map((item) => [item.key, item]))
    assert.deepEqual(items.map((i) => i.key).sort(), [all[0]!.key, all[all.length - 1]!.key].sort())
    for (const item of items) {
      assert.deepEqual(item.gtBoxes, byKey.get(item.key)!.boxes)
      assert.deepEqual(item.predBox, item.key === all[0]!.key ? null : [0.1, 0.1, 0.5, 0.5])
      assert.equal((await sharp(item.jpeg).metadata()).format, 'jpeg')
    }
  })
})
