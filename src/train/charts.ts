// Line charts as self-contained SVG, and SVG -> PNG with sharp (librsvg). Text is drawn by default with a small
// built-in 5x7 bitmap font as SVG rectangles: librsvg renders <text> with whatever fonts fontconfig finds, and a
// fresh machine or container may have none (text silently vanishes) or different ones (other bytes). The bitmap
// font makes every PNG identical everywhere. A browser has fonts, so the report inlines `text: 'font'` SVGs.

import sharp from 'sharp'

/** One line of a chart: `points` are [x, y]; a point with a non-finite coordinate is skipped (a gap). */
export interface ChartSeries {
  name: string
  points: readonly (readonly [number, number])[]
}

/** How a chart writes its text: `bitmap` (built-in 5x7 font as rectangles) or `font` (SVG <text>, sans-serif). */
export const CHART_TEXT_MODES = ['bitmap', 'font'] as const
export type ChartTextMode = (typeof CHART_TEXT_MODES)[number]

export interface LineChartOptions {
  title: string
  series: readonly ChartSeries[]
  xLabel: string
  yLabel: string
  /** SVG width in user units (pixels at density 72); default 640 */
  width?: number
  /** SVG height in user units; default 320 */
  height?: number
  /** logarithmic y axis; points with y <= 0 are skipped. Default false */
  logY?: boolean
  /** default 'bitmap' (font-independent, see the file comment) */
  text?: ChartTextMode
}

// Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008), minus yellow, which is unreadable on white.
export const CHART_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#56b4e9', '#e69f00', '#000000'] as const

// ---------------------------------------------------------------------------------------------------------------
// Bitmap font: printable ASCII, 5 columns x 7 rows above the baseline plus 2 descender rows (g, j, p, q, y),
// '#' = ink. Glyphs advance 6 columns (one blank column).

const GLYPH_ROWS: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '"': '.#.#. .#.#. ..... ..... ..... ..... .....',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  $: '..#.. .#### #.#.. .###. ..#.# ####. ..#..',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '&': '.##.. #..#. #.#.. .#... #.#.# #..#. .##.#',
  "'": '..#.. ..#.. ..... ..... ..... ..... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  '-': '..... ..... ..... ##### ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. ..#.. .#...',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '@': '.###. #...# ....# .##.# #.#.# #.#.# .###.',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  '\\': '..... #.... .#... ..#.. ...#. ....# .....',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '^': '..#.. .#.#. #...# ..... ..... ..... .....',
  _: '..... ..... ..... ..... ..... ..... #####',
  '`': '.#... ..#.. ...#. ..... ..... ..... .....',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '{': '...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  '}': '.#... ..#.. ..#.. ...#. ..#.. ..#.. .#...',
  '~': '..... ..... .#... #.#.# ...#. ..... .....',
}
// Anything else (accents, CJK, emoji) is drawn as a hollow box, so a missing glyph is visible, never dropped.
const MISSING_GLYPH = '##### #...# #...# #...# #...# #...# #####'

/** Glyph cell of the bitmap font in font pixels: 5 wide, 7 above the baseline, 9 with descenders, advancing 6. */
export const BITMAP_GLYPH = { width: 5, ascent: 7, height: 9, advance: 6 } as const

/** Width of `text` in the bitmap font at `scale` user units per font pixel (no trailing blank column). */
export const bitmapTextWidth = (text: string, scale: number): number =>
  text.length === 0 ? 0 : ([...text].length * BITMAP_GLYPH.advance - 1) * scale

/**
 * `text` in the bitmap font as one SVG <path> (each horizontal run of ink one rectangle), with the top-left of
 * the first glyph at (x, y); `scale` user units per font pixel. `anchor` aligns like SVG text-anchor.
 */
export function bitmapTextSvg(text: string, x: number, y: number, { scale = 1, fill = '#000', anchor = 'start' }: { scale?: number; fill?: string; anchor?: 'start' | 'middle' | 'end' } = {}): string {
  const chars = [...text]
  const width = bitmapTextWidth(text, scale)
  const left = anchor === 'start' ? x : anchor === 'middle' ? x - width / 2 : x - width
  const parts: string[] = []
  chars.forEach((ch, i) => {
    const rows = (GLYPH_ROWS[ch] ?? MISSING_GLYPH).split(' ')
    const gx = left + i * BITMAP_GLYPH.advance * scale
    rows.forEach((row, r) => {
      for (let c = 0; c < row.length; ) {
        if (row[c] !== '#') { c++; continue }
        let end = c
        while (row[end] === '#') end++
        parts.push(`M${fmt(gx + c * scale)} ${fmt(y + r * scale)}h${fmt((end - c) * scale)}v${fmt(scale)}h${fmt(-(end - c) * scale)}z`)
        c = end
      }
    })
  })
  return parts.length === 0 ? '' : `<path fill="${escapeXml(fill)}" shape-rendering="crispEdges" d="${parts.join('')}"/>`
}

// ---------------------------------------------------------------------------------------------------------------
// Chart geometry

/** Escape text for XML/HTML element content and attribute values. */
export const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')

// Two decimals keep coordinates exact enough for 1/100 px and make the SVG text deterministic and short.
const fmt = (v: number): string => {
  const r = Math.round(v * 100) / 100
  return Object.is(r, -0) ? '0' : String(r)
}

/** "Nice" ticks (1, 2 or 5 x 10^k apart) covering [min, max], about `count` of them. Returns [lo, hi, ticks]. */
export function niceTicks(min: number, max: number, count = 5, { integer = false }: { integer?: boolean } = {}): { lo: number; hi: number; ticks: number[] } {
  if (!(max > min)) {
    // A flat series: open a window around the value so the line sits mid-chart, not on an axis.
    const pad = integer ? 1 : min === 0 ? 1 : Math.abs(min) * 0.1
    return niceTicks(min - pad, max + pad, count, { integer })
  }
  // Integer data (epochs, steps) never gets a tick at 1.5.
  const raw = Math.max((max - min) / Math.max(1, count), integer ? 1 : 0)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude
  const lo = Math.floor(min / step) * step
  const hi = Math.ceil(max / step) * step
  const ticks: number[] = []
  // Multiply instead of accumulating so 0.1 + 0.2 drift never produces a tick like 0.30000000000000004.
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(roundTo(lo + i * step, step))
  return { lo, hi, ticks }
}

const roundTo = (v: number, step: number): number => {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1)
  return Number(v.toFixed(Math.min(20, decimals)))
}

/** A tick value as short text: 12k, 0.05, 1e-4, 2.5e+6. */
export function formatTick(v: number): string {
  if (v === 0) return '0'
  const a = Math.abs(v)
  if (a >= 1e6 || a < 1e-3) return Number(v.toPrecision(3)).toExponential()
  if (a >= 1e4 && v % 1000 === 0) return `${v / 1000}k`
  return String(Number(v.toPrecision(6)))
}

// At most this many points per pixel column survive decimation (its first, min, max and last), so a run logged
// every step (100k+ points) still gives a small SVG without hiding a loss spike.
const MAX_POINTS_PER_COLUMN = 4

/**
 * A line chart as a self-contained SVG string: title, axes with nice ticks and labels, a legend, one path per
 * series in a distinct colour (a point with NaN or Infinity, or y <= 0 on a log axis, leaves a gap), markers
 * when a series has few points. Empty series stay in the legend as "(no data)"; with no data at all the plot
 * says so. Output is deterministic for equal input.
 */
export function lineChartSvg({ title, series, xLabel, yLabel, width = 640, height = 320, logY = false, text = 'bitmap' }: LineChartOptions): string {
  const textAt = (value: string, x: number, y: number, size: number, opts: { anchor?: 'start' | 'middle' | 'end'; fill?: string; rotate?: boolean } = {}): string => {
    const { anchor = 'start', fill = '#222', rotate = false } = opts
    // `y` is the top of the text box in both modes; font mode converts to a baseline (cap height ~0.75 em).
    if (text === 'font') {
      const fontSize = size * 9 // 7 font pixels of cap height ~ a 9-unit em
      const body = `<text x="${fmt(x)}" y="${fmt(y + fontSize * 0.78)}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${fmt(fontSize)}" fill="${fill}" text-anchor="${anchor}">${escapeXml(value)}</text>`
      return rotate ? `<g transform="rotate(-90 ${fmt(x)} ${fmt(y)})">${body}</g>` : body
    }
    const body = bitmapTextSvg(value, x, y, { scale: size, fill, anchor })
    return rotate ? `<g transform="rotate(-90 ${fmt(x)} ${fmt(y)})">${body}</g>` : body
  }

  const transformY = (y: number): number => (logY ? Math.log10(y) : y)
  const usable = series.map((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)))
  const all = usable.flat()
  const hasData = all.length > 0

  const xs = all.map(([x]) => x)
  const ys = all.map(([, y]) => transformY(y))
  const [xMin, xMax] = hasData ? extent(xs) : [0, 1]
  const [yMin, yMax] = hasData ? extent(ys) : [0, 1]
  const xTicks = niceTicks(xMin, xMax, Math.max(2, Math.round(width / 110)), { integer: hasData && xs.every(Number.isInteger) })
  const yTicks = logY ? logTicks(yMin, yMax) : niceTicks(yMin, yMax, Math.max(2, Math.round(height / 60)))

  const yTickTexts = yTicks.ticks.map((t) => (logY ? formatTick(roundSignificant(10 ** t)) : formatTick(t)))
  const tickChars = Math.max(1, ...yTickTexts.map((t) => t.length))
  const margin = { top: 30, right: 16, bottom: 40, left: 24 + tickChars * 6 + 10 }
  const legendRows = legendLayout(series.map((s, i) => legendText(s.name, usable[i]!.length)), width - margin.left - margin.right)
  margin.top += legendRows.length * 12
  const plot = { x: margin.left, y: margin.top, w: Math.max(10, width - margin.left - margin.right), h: Math.max(10, height - margin.top - margin.bottom) }
  const px = (x: number): number => plot.x + ((x - xTicks.lo) / (xTicks.hi - xTicks.lo)) * plot.w
  const py = (y: number): number => plot.y + plot.h - ((transformY(y) - yTicks.lo) / (yTicks.hi - yTicks.lo)) * plot.h

  // Inlined SVGs share one HTML id space, so the clip path's id comes from the title (deterministic, unique per
  // chart of a report) rather than a fixed name.
  const clipId = `plot-${fnv1a(title).toString(16)}`
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`)
  out.push(`<title>${escapeXml(title)}</title>`)
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`)
  out.push(textAt(title, width / 2, 8, 2, { anchor: 'middle', fill: '#000' }))

  // Grid and ticks
  const grid: string[] = []
  const labels: string[] = []
  yTicks.ticks.forEach((t, i) => {
    const y = plot.y + plot.h - ((t - yTicks.lo) / (yTicks.hi - yTicks.lo)) * plot.h
    grid.push(`M${fmt(plot.x)} ${fmt(y)}h${fmt(plot.w)}`)
    labels.push(textAt(yTickTexts[i]!, plot.x - 5, y - 3, 1, { anchor: 'end' }))
  })
  for (const t of xTicks.ticks) {
    const x = px(t)
    grid.push(`M${fmt(x)} ${fmt(plot.y)}v${fmt(plot.h)}`)
    labels.push(textAt(formatTick(t), x, plot.y + plot.h + 6, 1, { anchor: 'middle' }))
  }
  out.push(`<path d="${grid.join('')}" stroke="#e4e4e4" stroke-width="1" fill="none"/>`)
  out.push(`<rect x="${fmt(plot.x)}" y="${fmt(plot.y)}" width="${fmt(plot.w)}" height="${fmt(plot.h)}" fill="none" stroke="#444" stroke-width="1"/>`)
  out.push(...labels)
  out.push(textAt(xLabel, plot.x + plot.w / 2, height - 14, 1, { anchor: 'middle' }))
  out.push(textAt(yLabel + (logY ? ' (log)' : ''), 8, plot.y + plot.h / 2, 1, { anchor: 'middle', rotate: true }))

  // Series: clipped to the plot so a point on the nice range's edge never paints over the axis labels.
  // 3 units of slack so a marker on the frame shows whole.
  out.push(`<clipPath id="${clipId}"><rect x="${fmt(plot.x - 3)}" y="${fmt(plot.y - 3)}" width="${fmt(plot.w + 6)}" height="${fmt(plot.h + 6)}"/></clipPath>`)
  out.push(`<g clip-path="url(#${clipId})">`)
  series.forEach((s, i) => {
    const colour = CHART_COLOURS[i % CHART_COLOURS.length]!
    const segments = finiteSegments(s.points, logY).map((seg) => decimate(seg.map(([x, y]) => [px(x), py(y)] as const), plot.x, plot.w))
    const d = segments.map((seg) => seg.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${fmt(x)} ${fmt(y)}`).join('')).join('')
    if (d !== '') out.push(`<path d="${d}" stroke="${colour}" stroke-width="1.5" fill="none" stroke-linejoin="round" stroke-linecap="round"/>`)
    // Few points (dev metrics per epoch, a run that just started): markers keep a lone point visible.
    if (usable[i]!.length > 0 && usable[i]!.length <= 40) {
      out.push(`<g fill="${colour}">${usable[i]!.map(([x, y]) => `<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="2.5"/>`).join('')}</g>`)
    }
  })
  out.push('</g>')
  if (!hasData) out.push(textAt('no data', plot.x + plot.w / 2, plot.y + plot.h / 2 - 7, 2, { anchor: 'middle', fill: '#888' }))

  // Legend: rows of (swatch, name) under the title.
  legendRows.forEach((row, r) => {
    const y = 30 + r * 12
    let x = plot.x + (plot.w - row.width) / 2
    for (const { index, label, width: w } of row.items) {
      const colour = CHART_COLOURS[index % CHART_COLOURS.length]!
      out.push(`<rect x="${fmt(x)}" y="${fmt(y + 2)}" width="14" height="3" fill="${colour}"/>`)
      out.push(textAt(label, x + 18, y, 1))
      x += w
    }
  })
  out.push('</svg>')
  return out.filter((s) => s !== '').join('\n') + '\n'
}

// A loop, not Math.min(...values): spreading a long run's 200k points as arguments overflows the stack.
function extent(values: readonly number[]): [number, number] {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v }
  return [lo, hi]
}

// FNV-1a, 32 bit: a short stable hash for ids.
function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h
}

const legendText = (name: string, points: number): string => (points === 0 ? `${name} (no data)` : name)

interface LegendRow { width: number; items: { index: number; label: string; width: number }[] }

function legendLayout(labels: readonly string[], maxWidth: number): LegendRow[] {
  const rows: LegendRow[] = []
  labels.forEach((label, index) => {
    const w = 18 + bitmapTextWidth(label, 1) + 16 // swatch + gap, text, space before the next entry
    const last = rows[rows.length - 1]
    if (last !== undefined && last.width + w <= maxWidth) {
      last.items.push({ index, label, width: w })
      last.width += w
    } else rows.push({ width: w, items: [{ index, label, width: w }] })
  })
  for (const row of rows) row.width -= 16
  return rows
}

// Decades covering [lo, hi] in log10 units; a range inside one decade gets its ends as extra ticks.
function logTicks(lo: number, hi: number): { lo: number; hi: number; ticks: number[] } {
  let a = Math.floor(lo)
  let b = Math.ceil(hi)
  if (a === b) { a -= 1; b += 1 }
  const ticks: number[] = []
  const stride = Math.max(1, Math.ceil((b - a) / 6))
  for (let t = a; t <= b; t += stride) ticks.push(t)
  return { lo: a, hi: b, ticks }
}

const roundSignificant = (v: number): number => Number(v.toPrecision(6))

// Runs of consecutive usable points: a NaN or Infinity (a diverged step) breaks the line instead of bridging it.
function finiteSegments(points: readonly (readonly [number, number])[], logY: boolean): (readonly [number, number])[][] {
  const segments: (readonly [number, number])[][] = []
  let current: (readonly [number, number])[] = []
  for (const p of points) {
    if (Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!logY || p[1] > 0)) current.push(p)
    else if (current.length > 0) { segments.push(current); current = [] }
  }
  if (current.length > 0) segments.push(current)
  return segments
}

// Keep the first, lowest, highest and last point of each pixel column (in order): visually identical to the full
// line at this width, and a spike survives.
function decimate(points: readonly (readonly [number, number])[], left: number, plotWidth: number): (readonly [number, number])[] {
  if (points.length <= plotWidth * MAX_POINTS_PER_COLUMN) return [...points]
  const out: (readonly [number, number])[] = []
  let column: (readonly [number, number])[] = []
  let columnIndex = Number.NaN
  const flush = (): void => {
    if (column.length === 0) return
    const keep = new Set([column[0]!, column[column.length - 1]!])
    let lo = column[0]!
    let hi = column[0]!
    for (const p of column) { if (p[1] < lo[1]) lo = p; if (p[1] > hi[1]) hi = p }
    keep.add(lo).add(hi)
    out.push(...column.filter((p) => keep.has(p)))
    column = []
  }
  for (const p of points) {
    const c = Math.floor(p[0] - left)
    if (c !== columnIndex) { flush(); columnIndex = c }
    column.push(p)
  }
  flush()
  return out
}

/**
 * Rasterise an SVG string to PNG bytes with sharp (librsvg). `scale` multiplies the SVG's size (2 by default:
 * the bitmap font's pixels land on whole device pixels and charts stay sharp on high-DPI screens).
 * Deterministic for equal input. Throws sharp's error for invalid SVG.
 */
export async function svgToPng(svg: string, { scale = 2 }: { scale?: number } = {}): Promise<Uint8Array> {
  const png = await sharp(Buffer.from(svg), { density: 72 * scale }).png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer()
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength)
}
