// `turnkit eval --vis`: where the model looks. Each overlay is the stored frame with the ground-truth boxes in
// cyan, the predicted box in red and a caption strip (class, cIoU) below the picture, so the caption never hides
// the scene. Text uses the charts' bitmap font: overlays must read the same on a machine without system fonts.

import { mkdir, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { seededRandom } from '../random.js'
import { writeFileAtomic } from '../dataset/atomic.js'
import { type DataOptions, openDataset } from '../dataset/dataset.js'
import { BITMAP_GLYPH, bitmapTextSvg, bitmapTextWidth } from './charts.js'

/**
 * Ground truth and prediction colours, each line over a dark halo. Ground truth is cyan, not the usual green: the
 * world's objects (and real grass) are green often enough that a green box on them disappears.
 */
export const OVERLAY_COLOURS = { groundTruth: '#00e5ff', prediction: '#ff2020', strip: '#151515', text: '#ffffff' } as const

/** What `drawOverlay` draws. Boxes are [x, y, w, h] as fractions of the image. */
export interface OverlayInput {
  jpeg: Uint8Array
  gtBoxes: readonly (readonly number[])[]
  /** null when the item had no prediction (drawn as "no prediction" in the caption) */
  predBox: readonly number[] | null
  label: string
  ciou: number
  /** picture width in px; default the JPEG's own (another value resizes the frame; boxes are normalized) */
  width?: number
  /** picture height in px; default the JPEG's own */
  height?: number
}

const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

/**
 * The frame with ground-truth boxes (cyan) and the predicted box (red) drawn on it, and a caption strip below
 * with the class and cIoU. Lines are 3 px at a 384 px short edge, scaled with the image. Returns PNG bytes of
 * width x (height + strip). Throws sharp's error when `jpeg` is not an image.
 */
export async function drawOverlay({ jpeg, gtBoxes, predBox, label, ciou, width, height }: OverlayInput): Promise<Uint8Array> {
  const meta = await sharp(jpeg).metadata()
  const w = width ?? meta.width
  const h = height ?? meta.height
  if (w === undefined || h === undefined) throw new Error('drawOverlay: the image has no dimensions')
  const line = Math.max(2, Math.round((3 * Math.min(w, h)) / 384))
  const scale = Math.max(1, Math.round(Math.min(w, h) / 192)) // bitmap font pixels: 2 at 384, readable, crisp
  const pad = 3 * scale
  const strip = BITMAP_GLYPH.height * scale + 2 * pad

  const rect = (box: readonly number[], colour: string): string => {
    const [x = 0, y = 0, bw = 0, bh = 0] = box
    // Centre the stroke on the box edge, but keep it inside the picture so a full-frame box stays visible.
    const half = line / 2
    const x0 = clamp(x * w, half, w - half)
    const y0 = clamp(y * h, half, h - half)
    const x1 = clamp((x + bw) * w, half, w - half)
    const y1 = clamp((y + bh) * h, half, h - half)
    const geometry = `x="${x0}" y="${y0}" width="${Math.max(0, x1 - x0)}" height="${Math.max(0, y1 - y0)}" fill="none"`
    // A dark 1 px halo under the colour keeps a box visible on an object of its own colour.
    return `<rect ${geometry} stroke="#000" stroke-opacity="0.6" stroke-width="${line + 2}"/><rect ${geometry} stroke="${colour}" stroke-width="${line}"/>`
  }

  const legend = [
    { text: 'GT', colour: OVERLAY_COLOURS.groundTruth },
    { text: 'pred', colour: OVERLAY_COLOURS.prediction },
  ]
  const swatch = 3 * scale
  const legendWidth = legend.reduce((sum, l) => sum + swatch + scale * 2 + bitmapTextWidth(l.text, scale) + pad * 2, 0)
  const score = predBox === null ? 'no prediction' : `cIoU ${Number.isFinite(ciou) ? ciou.toFixed(2) : '-'}`
  // The score matters more than the end of a long class name, so only the name is cut.
  const tail = `  ${score}`
  const caption = fitText(label === '' ? '(no class)' : label, w - legendWidth - 2 * pad - bitmapTextWidth(tail, scale), scale) + tail
  const textY = h + pad
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h + strip}">`,
    ...gtBoxes.map((b) => rect(b, OVERLAY_COLOURS.groundTruth)),
    predBox === null ? '' : rect(predBox, OVERLAY_COLOURS.prediction),
    `<rect x="0" y="${h}" width="${w}" height="${strip}" fill="${OVERLAY_COLOURS.strip}"/>`,
    bitmapTextSvg(caption, pad, textY, { scale, fill: OVERLAY_COLOURS.text }),
  ]
  let x = w - pad - legendWidth + pad * 2
  for (const l of legend) {
    parts.push(`<rect x="${x}" y="${textY + scale}" width="${swatch}" height="${(BITMAP_GLYPH.ascent - 2) * scale}" fill="${l.colour}"/>`)
    parts.push(bitmapTextSvg(l.text, x + swatch + scale * 2, textY, { scale, fill: l.colour }))
    x += swatch + scale * 2 + bitmapTextWidth(l.text, scale) + pad * 2
  }
  parts.push('</svg>')

  let frame = sharp(jpeg).removeAlpha()
  if (w !== meta.width || h !== meta.height) frame = frame.resize(w, h, { fit: 'fill' })
  // Decode to raw first so the strip is added to the resized frame and the SVG is laid over the whole canvas.
  const { data, info } = await frame.raw().toBuffer({ resolveWithObject: true })
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .extend({ bottom: strip, background: OVERLAY_COLOURS.strip })
    .composite([{ input: Buffer.from(parts.join('')), top: 0, left: 0 }])
    .png()
    .toBuffer()
  return toBytes(png)
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v))

// Cut a caption that would run under the legend, marking the cut.
function fitText(text: string, maxWidth: number, scale: number): string {
  if (bitmapTextWidth(text, scale) <= maxWidth) return text
  const chars = [...text]
  while (chars.length > 0 && bitmapTextWidth(`${chars.join('')}...`, scale) > maxWidth) chars.pop()
  return `${chars.join('')}...`
}

/** Options of `contactSheet`. */
export interface ContactSheetOptions {
  /** images per row; default 4 (fewer when there are fewer images) */
  columns?: number
  /** width of one cell in px; default 256 */
  cellWidth?: number
}

/** One titled run of images in a contact sheet (`best 8: highest cIoU`). */
export interface SheetSection {
  /** drawn in a strip above the section's rows; none when absent */
  title?: string
  images: readonly Uint8Array[]
}

// Dark gutter between cells: the sheet reads as separate pictures.
const CELL_PADDING = 2
const TITLE_STRIP = 18

/**
 * Tile sections of images (PNG or any format sharp reads) into one PNG: each section starts a new row under its
 * title strip, its images row by row, each scaled to the cell width minus a 2 px gutter, keeping its aspect;
 * every cell is as tall as the tallest scaled image. Throws when there is no image.
 */
export async function contactSheet(sections: readonly SheetSection[], { columns = 4, cellWidth = 256 }: ContactSheetOptions = {}): Promise<Uint8Array> {
  const count = sections.reduce((n, s) => n + s.images.length, 0)
  if (count === 0) throw new Error('contactSheet: no images')
  if (!Number.isInteger(columns) || columns < 1) throw new Error(`contactSheet: columns must be a positive integer, got ${columns}`)
  if (!Number.isInteger(cellWidth) || cellWidth <= 2 * CELL_PADDING) throw new Error(`contactSheet: cellWidth must be an integer > ${2 * CELL_PADDING}, got ${cellWidth}`)
  const inner = cellWidth - 2 * CELL_PADDING
  const tiles = await Promise.all(sections.map((section) => Promise.all(section.images.map(async (png) => {
    const { data, info } = await sharp(png).resize({ width: inner }).png().toBuffer({ resolveWithObject: true })
    return { data, height: info.height }
  }))))
  const cols = Math.min(columns, count)
  const cellHeight = Math.max(...tiles.flat().map((t) => t.height)) + 2 * CELL_PADDING
  const layers: { input: Buffer; left: number; top: number }[] = []
  const titles: string[] = []
  let top = 0
  for (const [i, section] of sections.entries()) {
    if (section.images.length === 0) continue
    if (section.title !== undefined) {
      titles.push(bitmapTextSvg(section.title, CELL_PADDING + 2, top + 4, { scale: 2, fill: OVERLAY_COLOURS.text }))
      top += TITLE_STRIP
    }
    tiles[i]!.forEach((t, k) => layers.push({ input: t.data, left: (k % cols) * cellWidth + CELL_PADDING, top: top + Math.floor(k / cols) * cellHeight + CELL_PADDING }))
    top += Math.ceil(section.images.length / cols) * cellHeight
  }
  const width = cols * cellWidth
  if (titles.length > 0) {
    layers.unshift({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top}">${titles.join('')}</svg>`), left: 0, top: 0 })
  }
  const sheet = await sharp({ create: { width, height: top, channels: 3, background: '#202020' } }).composite(layers).png().toBuffer()
  return toBytes(sheet)
}

/** One evaluated item for `writeOverlays`. */
export interface OverlayItem {
  key: string
  label: string
  ciou: number
  jpeg: Uint8Array
  gtBoxes: readonly (readonly number[])[]
  predBox: readonly number[] | null
}

/** How many items of each kind `writeOverlays` draws, and the seed of the random sample. */
export interface OverlaySelection {
  /** highest cIoU first; default 8 */
  best?: number
  /** lowest cIoU first; default 8 */
  worst?: number
  /** drawn (seeded) from the items that are neither best nor worst; default 8 */
  random?: number
  /** default 0 */
  seed?: number
}

export const OVERLAY_GROUPS = ['best', 'worst', 'random'] as const
export type OverlayGroup = (typeof OVERLAY_GROUPS)[number]

/**
 * Pick the items to draw: the `best` highest cIoU, the `worst` lowest (ties broken by key, NaN counts as worst),
 * and `random` of the rest with `seededRandom(seed)`; the result does not depend on the input order. Items may
 * be both best and worst when there are fewer than best + worst. Selecting again from the picked items alone
 * picks the same items, so the CLI can select on scores first and read only those images.
 */
export function selectOverlays<T extends { key: string; ciou: number }>(items: readonly T[], { best = 8, worst = 8, random = 8, seed = 0 }: OverlaySelection = {}): { group: OverlayGroup; rank: number; item: T }[] {
  const score = (i: T): number => (Number.isNaN(i.ciou) ? -Infinity : i.ciou)
  const byKey = (a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  const descending = [...items].sort((a, b) => score(b) - score(a) || byKey(a, b))
  const ascending = [...items].sort((a, b) => score(a) - score(b) || byKey(a, b))
  const bestItems = descending.slice(0, best)
  const worstItems = ascending.slice(0, worst)
  const taken = new Set([...bestItems, ...worstItems])
  const pool = [...items].filter((i) => !taken.has(i)).sort(byKey)
  const draw = seededRandom(seed)
  // Partial Fisher-Yates: the first `random` slots become a uniform sample without replacement.
  const count = Math.min(random, pool.length)
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(draw() * (pool.length - i))
    ;[pool[i], pool[j]] = [pool[j]!, pool[i]!]
  }
  const tag = (group: OverlayGroup, list: T[]): { group: OverlayGroup; rank: number; item: T }[] => list.map((item, i) => ({ group, rank: i + 1, item }))
  return [...tag('best', bestItems), ...tag('worst', worstItems), ...tag('random', pool.slice(0, count))]
}

/**
 * A key as a file-name part: each run of characters other than letters, digits, '.', '_' and '-' (and of two
 * or more dots) becomes one '_', so no '/', backslash or '..' survives, nor a leading dot; at most 100 characters;
 * never empty.
 */
export function safeFileKey(key: string): string {
  // One '_' per run of unsafe characters and dot-runs together, so '../../x' reads '_x', not '____x'.
  const safe = key.replace(/(?:[^A-Za-z0-9._-]|\.{2,})+/g, '_').replace(/^\./, '_').slice(0, 100)
  return safe === '' ? 'item' : safe
}

const OVERLAY_FILE = /^(best|worst|random)-\d+-.*\.png$/
const GROUP_TITLES: Record<OverlayGroup, string> = { best: 'highest cIoU', worst: 'lowest cIoU', random: 'a seeded random sample' }

/**
 * Draw the selected items (see `selectOverlays`) into `<evalDir>/vis/`: `best-01-<key>.png`, ...,
 * `worst-01-<key>.png` (lowest first), `random-01-<key>.png`, and `contact-sheet.png` of them all in that order.
 * Overlays of an earlier call that this one did not rewrite are removed, so the folder shows one selection.
 * Files are written atomically. Returns the paths written, the contact sheet last; none when `items` is empty.
 */
export async function writeOverlays(evalDir: string, items: readonly OverlayItem[], selection: OverlaySelection = {}): Promise<string[]> {
  const dir = join(evalDir, 'vis')
  await mkdir(dir, { recursive: true })
  const picks = selectOverlays(items, selection)
  const written: string[] = []
  const digits = Math.max(2, String(picks.length).length) // best-01 sorts before best-10 in any file browser
  const byGroup = new Map<OverlayGroup, Uint8Array[]>()
  for (const { group, rank, item } of picks) {
    const png = await drawOverlay({ jpeg: item.jpeg, gtBoxes: item.gtBoxes, predBox: item.predBox, label: item.label, ciou: item.ciou })
    const path = join(dir, `${group}-${String(rank).padStart(digits, '0')}-${safeFileKey(item.key)}.png`)
    await writeFileAtomic(path, png)
    written.push(path)
    byGroup.set(group, [...(byGroup.get(group) ?? []), png])
  }
  const keep = new Set(written.map((p) => p.slice(dir.length + 1)))
  for (const name of await readdir(dir)) if (OVERLAY_FILE.test(name) && !keep.has(name)) await unlink(join(dir, name))
  if (written.length === 0) return written
  const sheet = join(dir, 'contact-sheet.png')
  const sections = OVERLAY_GROUPS.flatMap((group) => {
    const images = byGroup.get(group) ?? []
    return images.length === 0 ? [] : [{ title: `${group} ${images.length}: ${GROUP_TITLES[group]}`, images }]
  })
  await writeFileAtomic(sheet, await contactSheet(sections))
  return [...written, sheet]
}

/**
 * Select overlays from scored items (`ScoreReport.perItem`) and read just their frames and boxes from the
 * audio-image-boxes dataset at `dataDir`, one row group at a time: a 5,000-item test set is never held in
 * memory for 24 pictures. `predictions` maps key -> normalized box. Returns `OverlayItem`s for `writeOverlays`.
 * Throws when the dataset is not audio-image-boxes or a selected key is not in it.
 */
export async function readOverlayItems(
  dataDir: string,
  scored: readonly { key: string; label: string; ciou: number }[],
  predictions: ReadonlyMap<string, readonly number[]>,
  selection: OverlaySelection = {},
  data: DataOptions = {},
): Promise<OverlayItem[]> {
  const wanted = new Map(selectOverlays(scored, selection).map(({ item }) => [item.key, item]))
  const dataset = await openDataset(dataDir, data)
  if (dataset.schema.id !== 'audio-image-boxes') throw new Error(`overlays: ${dataDir} holds ${dataset.schema.id} records; overlays need an audio-image-boxes dataset`)
  const found: OverlayItem[] = []
  for await (const row of dataset.rows({ keys: wanted.keys(), columns: ['key', 'image_jpeg', 'boxes'] })) {
    const item = wanted.get(row.key as string)!
    found.push({
      key: item.key,
      label: item.label,
      ciou: item.ciou,
      jpeg: row.image_jpeg as Uint8Array,
      gtBoxes: (row.boxes as Float32Array[]).map((b) => Array.from(b)),
      predBox: predictions.get(item.key) ?? null,
    })
  }
  if (found.length < wanted.size) {
    const have = new Set(found.map((f) => f.key))
    const absent = [...wanted.keys()].filter((k) => !have.has(k))
    throw new Error(`overlays: ${absent.length} selected keys are not in ${dataDir}: ${absent.slice(0, 5).join(', ')}`)
  }
  return found
}
