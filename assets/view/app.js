// The page of `turnkit view`: preact components written with htm's tagged templates (no build step). Every
// value from the dataset (keys, captions, labels, ledger messages, settings) is rendered as a text child or an
// attribute value, which preact sets as text: nothing from the data is ever parsed as HTML.
import { h, render } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import htm from 'htm'

const html = htm.bind(h)

// ---------- routing: #/rows?split=val, #/row/12, #/ledger, #/manifest, #/predictions ----------

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/rows'
  const at = raw.indexOf('?')
  return { path: at === -1 ? raw : raw.slice(0, at), params: new URLSearchParams(at === -1 ? '' : raw.slice(at + 1)) }
}

function useRoute() {
  const [route, setRoute] = useState(parseHash)
  useEffect(() => {
    const changed = () => setRoute(parseHash())
    addEventListener('hashchange', changed)
    return () => removeEventListener('hashchange', changed)
  }, [])
  return route
}

/** `#<path>?<params>` with empty values left out. */
function link(path, params = {}) {
  const query = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') query.set(k, String(v))
  const q = query.toString()
  return `#${path}${q === '' ? '' : `?${q}`}`
}

const go = (path, params) => {
  location.hash = link(path, params)
}

// ---------- data ----------

async function getJson(url) {
  const response = await fetch(url)
  const body = await response.json().catch(() => ({ error: response.statusText }))
  if (!response.ok) throw new Error(body.error ?? response.statusText)
  return body
}

function useJson(url) {
  const [state, setState] = useState({ loading: true })
  useEffect(() => {
    if (url === null) return undefined
    let live = true
    setState((s) => ({ ...s, loading: true }))
    getJson(url).then((data) => live && setState({ data }), (error) => live && setState({ error }))
    return () => {
      live = false
    }
  }, [url])
  return state
}

/** /api/info, fetched again every second while the index is building or the part files are being verified. */
function useInfo() {
  const [info, setInfo] = useState({ loading: true })
  useEffect(() => {
    let live = true
    let timer
    const load = () =>
      getJson('/api/info').then(
        (data) => {
          if (!live) return
          setInfo({ data })
          if (data.index.state === 'building' || data.verification.state === 'running') timer = setTimeout(load, 1000)
        },
        (error) => live && setInfo({ error }),
      )
    load()
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [])
  return info
}

// ---------- formatting ----------

const num = (v, digits = 3) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : v === null || v === undefined ? '–' : String(v))
const pct = (v) => (100 * v).toFixed(1)
const bytes = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`)

/** A value of any field as text (lists joined, boxes as [x, y, w, h]). */
function valueText(v) {
  if (v === null || v === undefined) return '–'
  if (typeof v === 'number') return num(v, 4)
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.map((x) => (Array.isArray(x) ? `[${x.map((y) => num(y, 4)).join(', ')}]` : valueText(x))).join(', ')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

// ---------- the app ----------

function App() {
  const route = useRoute()
  const info = useInfo()
  if (info.error) return html`<div class="error">Cannot reach the viewer: ${info.error.message}</div>`
  if (!info.data) return html`<p class="loading">Loading…</p>`
  const i = info.data
  const tabs = [
    ['/rows', 'Rows', route.path === '/rows' || route.path.startsWith('/row/')],
    ['/ledger', `Ledger (${i.rejects})`, route.path === '/ledger'],
    ['/manifest', 'Manifest', route.path === '/manifest'],
    ...(i.predictions ? [['/predictions', 'Predictions', route.path === '/predictions']] : []),
  ]
  let view
  const rowMatch = /^\/row\/(\d+)$/.exec(route.path)
  if (route.path === '/rows') view = html`<${RowsView} info=${i} params=${route.params} />`
  else if (rowMatch) view = html`<${RowView} info=${i} index=${Number(rowMatch[1])} />`
  else if (route.path === '/ledger') view = html`<${LedgerView} info=${i} />`
  else if (route.path === '/manifest') view = html`<${ManifestView} info=${i} />`
  else if (route.path === '/predictions' && i.predictions) view = html`<${PredictionsView} info=${i} params=${route.params} />`
  else view = html`<p class="error">No such view: ${route.path}</p>`
  return html`
    <header class="top">
      <div class="brand">turnkit view</div>
      <div class="dataset">
        <span class="location" title=${i.location}>${i.title}</span>
        <span class="pill">${i.schema.id} v${i.schema.version}</span>
        <span class="pill">${i.rows} rows</span>
        <span class="pill mono" title=${i.version}>${i.version.slice(0, 19)}…</span>
      </div>
      <nav>${tabs.map(([path, label, active]) => html`<a class=${active ? 'tab active' : 'tab'} href=${link(path)}>${label}</a>`)}</nav>
    </header>
    <${Banners} info=${i} />
    <main>${view}</main>
  `
}

function Banners({ info }) {
  const v = info.verification
  const out = []
  if (v.state === 'damaged') out.push(html`<div class="banner bad">Damaged: ${v.message}</div>`)
  if (info.index.state === 'building') out.push(html`<div class="banner">Indexing ${info.rows} rows (filters and sorting wait for it)…</div>`)
  if (info.index.state === 'failed') out.push(html`<div class="banner bad">The index could not be built: ${info.index.error}</div>`)
  return out.length === 0 ? null : html`<div class="banners">${out}</div>`
}

// ---------- rows table ----------

const PAGE_SIZES = [10, 25, 50, 100, 200]

/** The columns the table shows for this kind of record. */
function tableColumns(info) {
  const names = new Set(info.columns.map((c) => c.name))
  const cols = [{ name: 'key', label: 'key', cls: 'mono key' }, { name: 'split', label: 'split' }]
  if (info.labelColumn) cols.push({ name: info.labelColumn, label: info.labelColumn })
  for (const n of ['duration_sec', 'frames', 'width', 'height', 'rms_dbfs']) if (names.has(n)) cols.push({ name: n, label: n, numeric: true })
  if (info.textColumn) cols.push({ name: info.textColumn, label: info.textColumn, text: true })
  if (names.has('boxes')) cols.push({ name: 'boxes', label: 'boxes', count: true, numeric: true })
  if (info.predictions) cols.push({ name: 'ciou', label: 'cIoU', numeric: true })
  return cols
}

function cellText(col, row) {
  const v = row[col.name]
  if (col.count) return Array.isArray(v) ? String(v.length) : '–'
  if (col.text) return Array.isArray(v) && v.length > 0 ? v[0] : '–'
  return col.numeric ? num(v, 3) : valueText(v)
}

function RowsView({ info, params }) {
  const p = Object.fromEntries(params.entries())
  const offset = Number(p.offset ?? 0)
  const limit = Number(p.limit ?? 50)
  const query = { split: p.split, label: p.label, corpus: p.corpus, q: p.q, sort: p.sort, order: p.sort ? p.order ?? 'asc' : undefined, offset, limit }
  const facets = useJson('/api/facets')
  const page = useJson(`/api/rows${link('', query).slice(1)}`)
  const set = (changes) => go('/rows', { ...query, offset: 0, ...changes })
  const [search, setSearch] = useState(p.q ?? '')
  useEffect(() => setSearch(p.q ?? ''), [p.q])
  const cols = tableColumns(info)
  const facetSelect = (name, label, counts) =>
    counts === null || counts === undefined
      ? null
      : html`<label>${label}
          <select name=${name} value=${p[name] ?? ''} onChange=${(e) => set({ [name]: e.currentTarget.value })}>
            <option value="">all</option>
            ${Object.entries(counts).map(([value, n]) => html`<option value=${value}>${value === '' ? '(empty)' : value} (${n})</option>`)}
          </select></label>`
  const f = facets.data
  return html`
    <section class="rows">
      <form class="filters" onSubmit=${(e) => { e.preventDefault(); set({ q: search }) }}>
        ${f ? facetSelect('split', 'split', f.split) : html`<span class="muted">indexing…</span>`}
        ${f && Object.keys(f.corpus).length > 1 ? facetSelect('corpus', 'corpus', f.corpus) : null}
        ${f && info.labelColumn ? facetSelect('label', info.labelColumn, f.label) : null}
        <label>key contains
          <input name="q" type="search" value=${search} placeholder="substring of the key" onInput=${(e) => setSearch(e.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
        <label>sort by
          <select name="sort" value=${p.sort ?? ''} onChange=${(e) => set({ sort: e.currentTarget.value, order: query.order ?? 'asc' })}>
            <option value="">key</option>
            ${info.sortable.map((c) => html`<option value=${c}>${c}</option>`)}
          </select></label>
        ${p.sort ? html`<label>order
          <select name="order" value=${query.order} onChange=${(e) => set({ order: e.currentTarget.value })}>
            <option value="asc">ascending</option><option value="desc">descending</option>
          </select></label>` : null}
      </form>
      ${page.error ? html`<p class="error">${page.error.message}</p>` : null}
      ${page.data ? html`
        <${Pager} total=${page.data.total} offset=${page.data.offset} limit=${page.data.limit} onPage=${(o) => go('/rows', { ...query, offset: o })} onLimit=${(l) => set({ limit: l })} />
        <table class=${page.loading ? 'data loading' : 'data'}>
          <thead><tr><th class="num">#</th>${cols.map((c) => html`<th class=${c.numeric ? 'num' : ''}>${c.label}</th>`)}</tr></thead>
          <tbody>
            ${page.data.rows.map((row) => html`
              <tr class="data-row" data-index=${row.index} onClick=${() => go(`/row/${row.index}`)}>
                <td class="num"><a href=${link(`/row/${row.index}`)}>${row.index}</a></td>
                ${cols.map((c) => html`<td class=${`${c.numeric ? 'num' : ''} ${c.cls ?? ''} ${c.text ? 'text' : ''}`}>${cellText(c, row)}</td>`)}
              </tr>`)}
          </tbody>
        </table>
        ${page.data.rows.length === 0 ? html`<p class="muted">No row matches.</p>` : null}` : html`<p class="loading">Loading rows…</p>`}
    </section>`
}

function Pager({ total, offset, limit, onPage, onLimit }) {
  const last = Math.min(total, offset + limit)
  return html`
    <div class="pager">
      <span class="count" data-total=${total} data-shown=${Math.max(0, last - offset)}>
        ${total === 0 ? 'no rows' : `rows ${offset + 1}–${last} of ${total}`}
      </span>
      <button type="button" class="prev" disabled=${offset === 0} onClick=${() => onPage(Math.max(0, offset - limit))}>‹ previous</button>
      <button type="button" class="next" disabled=${last >= total} onClick=${() => onPage(offset + limit)}>next ›</button>
      <label>per page
        <select value=${String(limit)} onChange=${(e) => onLimit(Number(e.currentTarget.value))}>
          ${PAGE_SIZES.map((n) => html`<option value=${String(n)}>${n}</option>`)}
        </select></label>
    </div>`
}

// ---------- one row ----------

/** The row's boxes as [{box, annotator}] (audio-image-boxes: boxes + box_annotators; image-text-box: box). */
function boxesOf(row) {
  if (Array.isArray(row.boxes)) return row.boxes.map((box, i) => ({ box, annotator: Array.isArray(row.box_annotators) ? row.box_annotators[i] ?? 0 : 0 }))
  if (Array.isArray(row.box) && row.box.length === 4) return [{ box: row.box, annotator: 0 }]
  return []
}

const DESCRIPTORS = ['rms_dbfs', 'peak', 'spectral_flatness', 'silent']

function RowView({ info, index }) {
  const row = useJson(`/api/rows/${index}`)
  if (row.error) return html`<p class="error">${row.error.message}</p>`
  if (!row.data) return html`<p class="loading">Loading row ${index}…</p>`
  const r = row.data
  const names = new Set(info.columns.map((c) => c.name))
  const shownElsewhere = new Set(['key', 'token_ids', 'boxes', 'box_annotators', 'box', 'dropped_boxes', 'no_usable_box', 'source_ids', info.textColumn, ...DESCRIPTORS])
  const fieldRows = (columns) => columns.map((c) => html`<tr><th>${c.name}</th><td class=${Array.isArray(r[c.name]) ? 'list' : ''}>${Array.isArray(r[c.name]) ? html`<${List} values=${r[c.name]} />` : valueText(r[c.name])}${c.unit && !Array.isArray(r[c.name]) ? html` <span class="unit">${c.unit}</span>` : null}</td></tr>`)
  const fields = info.columns.filter((c) => c.type !== 'binary' && c.name !== 'log_mel' && !shownElsewhere.has(c.name))
  const descriptors = info.columns.filter((c) => DESCRIPTORS.includes(c.name))
  const boxes = boxesOf(r)
  const colours = info.colours.annotators
  return html`
    <section class="row-detail">
      <div class="row-nav">
        <a href=${link('/rows')}>‹ all rows</a>
        ${index > 0 ? html`<a href=${link(`/row/${index - 1}`)}>‹ row ${index - 1}</a>` : null}
        ${index + 1 < info.rows ? html`<a href=${link(`/row/${index + 1}`)}>row ${index + 1} ›</a>` : null}
      </div>
      <h2 class="mono">${r.key}</h2>
      <p class="muted">row ${index} · ${r._location.file}, row group ${r._location.rowGroup}, position ${r._location.position}</p>
      <div class="media">
        ${names.has('image_jpeg') ? html`<${Frame} info=${info} index=${index} row=${r} />` : null}
        ${names.has('log_mel') ? html`<${LogMel} info=${info} index=${index} frames=${r.frames} nMels=${r.n_mels} />` : null}
      </div>
      ${info.textColumn ? html`<${Texts} name=${info.textColumn} texts=${r[info.textColumn]} tokens=${r._tokens} ids=${r.token_ids} vocab=${r._vocab} />` : null}
      <div class="detail-tables">
        ${names.has('boxes') || names.has('box') ? html`
          <div>
            <h3>Boxes <span class="muted">[x, y, w, h] as fractions of the image</span></h3>
            <table class="data boxes-table">
              <thead><tr><th class="num">#</th>${names.has('box_annotators') ? html`<th>annotator</th>` : null}<th class="num">x</th><th class="num">y</th><th class="num">w</th><th class="num">h</th></tr></thead>
              <tbody>${boxes.map(({ box, annotator }, i) => html`<tr class="box-row"><td class="num">${i}</td>${names.has('box_annotators') ? html`<td><span class="swatch" style=${{ background: colours[annotator % colours.length] }}></span> ${annotator}</td>` : null}${box.map((v) => html`<td class="num">${v.toFixed(4)}</td>`)}</tr>`)}</tbody>
            </table>
            ${names.has('dropped_boxes') ? html`<p><strong>dropped_boxes</strong> ${Array.isArray(r.dropped_boxes) && r.dropped_boxes.length > 0 ? r.dropped_boxes.map((d) => html`<span class="pill mono">${d}</span>`) : html`<span class="muted">(none)</span>`}</p>` : null}
            ${names.has('no_usable_box') ? html`<p><strong>no_usable_box</strong> ${valueText(r.no_usable_box)}</p>` : null}
          </div>` : null}
        ${descriptors.length > 0 ? html`
          <div>
            <h3>Clip descriptors</h3>
            <table class="fields"><tbody>${fieldRows(descriptors)}</tbody></table>
          </div>` : null}
        ${names.has('source_ids') ? html`
          <div>
            <h3>source_ids</h3>
            <${List} values=${r.source_ids ?? []} />
          </div>` : null}
      </div>
      <h3>Fields</h3>
      <table class="fields">
        <tbody>${fieldRows(fields)}</tbody>
      </table>
    </section>`
}

function List({ values }) {
  if (values.length === 0) return html`<span class="muted">(none)</span>`
  return html`<ul class="values">${values.map((v) => html`<li class="mono">${valueText(v)}</li>`)}</ul>`
}

/** The stored image with every ground-truth box (coloured by annotator) and, with predictions, the predicted box. */
function Frame({ info, index, row, compact }) {
  const w = row.width
  const h = row.height
  const boxes = boxesOf(row)
  const line = Math.max(2, (3 * Math.min(w, h)) / 384)
  const colours = info.colours.annotators
  const rect = (box, colour, cls, title) => {
    const [x, y, bw, bh] = box
    return html`
      <rect class="halo" x=${x * w} y=${y * h} width=${Math.max(0, bw * w)} height=${Math.max(0, bh * h)} fill="none" stroke="#000" stroke-opacity="0.6" stroke-width=${line + 2} />
      <rect class=${cls} x=${x * w} y=${y * h} width=${Math.max(0, bw * w)} height=${Math.max(0, bh * h)} fill="none" stroke=${colour} stroke-width=${line}><title>${title}</title></rect>`
  }
  const annotators = [...new Set(boxes.map((b) => b.annotator))].sort((a, b) => a - b)
  // Shown at most 480 x 420 px (320 x 300 beside a log-mel), never enlarged; the drawing keeps image pixels.
  const scale = Math.min(1, (compact ? 320 : 480) / w, (compact ? 300 : 420) / h)
  return html`
    <figure class=${compact ? 'frame compact' : 'frame'} style=${{ width: `${Math.round(w * scale) + 12}px` }}>
      <svg class="frame-svg" viewBox=${`0 0 ${w} ${h}`} width=${Math.round(w * scale)} height=${Math.round(h * scale)} role="img" aria-label=${`image of row ${index} with ${boxes.length} boxes`}>
        <image href=${`/api/rows/${index}/image`} x="0" y="0" width=${w} height=${h} />
        ${boxes.map(({ box, annotator }) => rect(box, colours[annotator % colours.length], 'box gt', `annotator ${annotator}: [${box.map((v) => v.toFixed(3)).join(', ')}]`))}
        ${Array.isArray(row.pred) ? rect(row.pred, info.colours.prediction, 'box pred', `prediction: [${row.pred.map((v) => v.toFixed(3)).join(', ')}]`) : null}
      </svg>
      <figcaption>
        ${annotators.map((a) => html`<span class="legend"><span class="swatch" style=${{ background: colours[a % colours.length] }}></span> ${info.columns.some((c) => c.name === 'box_annotators') ? `annotator ${a}` : 'ground truth'}</span>`)}
        ${boxes.length === 0 ? html`<span class="muted">no box</span>` : null}
        ${info.predictions ? html`<span class="legend"><span class="swatch" style=${{ background: info.colours.prediction }}></span> ${Array.isArray(row.pred) ? 'prediction' : 'no prediction'}</span>
          <strong class="ciou" data-ciou=${String(row.ciou)}>cIoU ${row.ciou === null || row.ciou === undefined ? '–' : row.ciou.toFixed(3)}</strong>` : null}
        <span class="muted">${w}×${h} px, ${boxes.length} box${boxes.length === 1 ? '' : 'es'}</span>
      </figcaption>
    </figure>`
}

// Viridis, 9 stops (matplotlib's), interpolated into a 256-entry table.
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]]
const LUT = Array.from({ length: 256 }, (_, i) => {
  const t = (i / 255) * (VIRIDIS.length - 1)
  const k = Math.min(VIRIDIS.length - 2, Math.floor(t))
  const f = t - k
  return VIRIDIS[k].map((c, j) => Math.round(c + f * (VIRIDIS[k + 1][j] - c)))
})

// Slaney mel scale (librosa's default, htk=False).
const hzToMel = (hz) => (hz < 1000 ? (3 * hz) / 200 : 15 + Math.log(hz / 1000) / (Math.log(6.4) / 27))
const melToHz = (mel) => (mel < 15 ? (200 * mel) / 3 : 1000 * Math.exp((Math.log(6.4) / 27) * (mel - 15)))

/** The log-mel as a heatmap: one canvas pixel per (frame, band), time left to right, low bands at the bottom. */
function LogMel({ info, index, frames, nMels, compact }) {
  const canvas = useRef(null)
  const [state, setState] = useState({ loading: true })
  useEffect(() => {
    let live = true
    fetch(`/api/rows/${index}/log-mel`)
      .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`log-mel: ${r.status}`))))
      .then((buffer) => {
        if (!live) return
        const values = new Float32Array(buffer)
        if (values.length !== frames * nMels) throw new Error(`log-mel holds ${values.length} values, not ${frames} x ${nMels}`)
        let max = -Infinity
        let min = Infinity
        for (const v of values) {
          if (v > max) max = v
          if (v < min) min = v
        }
        const ctx = canvas.current.getContext('2d')
        const image = ctx.createImageData(frames, nMels)
        const span = max - min || 1
        for (let t = 0; t < frames; t++) {
          for (let m = 0; m < nMels; m++) {
            const c = LUT[Math.max(0, Math.min(255, Math.round(((values[t * nMels + m] - min) / span) * 255)))]
            const at = ((nMels - 1 - m) * frames + t) * 4
            image.data[at] = c[0]
            image.data[at + 1] = c[1]
            image.data[at + 2] = c[2]
            image.data[at + 3] = 255
          }
        }
        ctx.putImageData(image, 0, 0)
        setState({ min, max })
      })
      .catch((error) => live && setState({ error }))
    return () => {
      live = false
    }
  }, [index, frames, nMels])
  const audio = info.audio ?? { sampleRate: 22050, hopLength: 1024, fmin: 0, fmax: 11025 }
  const secondsPerFrame = audio.hopLength / audio.sampleRate
  const duration = frames * secondsPerFrame
  const step = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60].find((s) => duration / s <= (compact ? 4 : 8)) ?? 120
  const timeTicks = []
  for (let s = 0; s <= duration + 1e-9; s += step) timeTicks.push(s)
  const melLo = hzToMel(audio.fmin)
  const melHi = hzToMel(audio.fmax)
  const bandHz = (k) => melToHz(melLo + ((k + 1) * (melHi - melLo)) / (nMels + 1))
  const bandTicks = [0, Math.round((nMels - 1) / 4), Math.round((nMels - 1) / 2), Math.round((3 * (nMels - 1)) / 4), nMels - 1]
  const hz = (f) => (f >= 1000 ? `${(f / 1000).toFixed(1)} kHz` : `${Math.round(f)} Hz`)
  return html`
    <figure class=${compact ? 'log-mel compact' : 'log-mel'}>
      <div class="axis-title">mel band · centre frequency</div>
      <div class="mel-plot">
        <div class="y-axis">
          ${bandTicks.map((k) => html`<span class="tick" style=${{ bottom: `${((k + 0.5) / nMels) * 100}%` }}>${k} · ${hz(bandHz(k))}</span>`)}
        </div>
        <div class="mel-canvas">
          <canvas ref=${canvas} class="log-mel-canvas" width=${frames} height=${nMels} data-frames=${frames} data-n-mels=${nMels}></canvas>
          <div class="x-axis">
            ${timeTicks.map((s) => html`<span class="tick" style=${{ left: `${(s / duration) * 100}%` }}>${s.toFixed(step < 1 ? 2 : 0)}${s === 0 ? ' s' : ''}</span>`)}
            <span class="axis-title">time (s)</span>
          </div>
        </div>
      </div>
      <figcaption>
        log-mel, ${frames} frames × ${nMels} bands (one cell per frame and band), time in seconds (hop ${audio.hopLength} at ${audio.sampleRate} Hz)
        ${state.max !== undefined ? html` · <span class="colourbar"></span> ${state.min.toFixed(1)} to ${state.max.toFixed(1)} dB` : null}
        ${state.error ? html` · <span class="error">${state.error.message}</span>` : null}
      </figcaption>
    </figure>`
}

function Texts({ name, texts, tokens, ids, vocab }) {
  return html`
    <h3>${name}</h3>
    <ol class="texts">
      ${(texts ?? []).map((text, i) => html`
        <li>
          <div class="text">${text}</div>
          ${ids && ids[i] ? html`<div class="tokens" title=${vocab ?? ''}>${ids[i].map((id, j) => html`<span class=${tokens && tokens[i] && /^\[.*\]$/.test(tokens[i][j] ?? '') ? 'token special' : 'token'} title=${`id ${id}`}>${tokens && tokens[i] && tokens[i][j] !== null ? tokens[i][j] : `#${id}`}</span>`)}</div>` : null}
        </li>`)}
    </ol>
    <p class="muted small">WordPiece tokens (${vocab ?? 'no vocabulary'}); hover a token for its id.</p>`
}

// ---------- ledger ----------

function LedgerView() {
  const ledger = useJson('/api/rejects')
  if (ledger.error) return html`<p class="error">${ledger.error.message}</p>`
  if (!ledger.data) return html`<p class="loading">Loading the ledger…</p>`
  const { total, groups } = ledger.data
  return html`
    <section class="ledger">
      <h2>Rejects ledger <span class="muted" data-total=${total}>${total} line${total === 1 ? '' : 's'}</span></h2>
      ${total === 0 ? html`<p class="muted">Every input became a row.</p>` : null}
      <p class="summary">${groups.map((g) => html`<a class="pill" href=${`#code-${g.code}`} onClick=${(e) => { e.preventDefault(); document.getElementById(`code-${g.code}`)?.scrollIntoView() }}>${g.code} ${g.count}</a>`)}</p>
      ${groups.map((g) => html`
        <section class="reject-group" id=${`code-${g.code}`} data-code=${g.code}>
          <h3><span class="code">${g.code}</span> <span class="muted">${g.count}</span></h3>
          <table class="data ledger-table">
            <colgroup><col class="c-key" /><col class="c-stage" /><col class="c-message" /><col class="c-source" /></colgroup>
            <thead><tr><th>key</th><th>stage</th><th>message</th><th>source</th></tr></thead>
            <tbody>
              ${g.lines.map((l) => html`<tr class="reject-line"><td class="mono">${l.key}</td><td>${l.stage}</td><td class="message">${l.message}</td><td class="mono">${l.source}</td></tr>`)}
            </tbody>
          </table>
          ${g.truncated ? html`<p class="muted">first ${g.lines.length} of ${g.count} shown</p>` : null}
        </section>`)}
    </section>`
}

// ---------- manifest ----------

function ManifestView({ info }) {
  const manifest = useJson('/api/manifest')
  const facets = useJson('/api/facets')
  if (manifest.error) return html`<p class="error">${manifest.error.message}</p>`
  if (!manifest.data) return html`<p class="loading">Loading the manifest…</p>`
  const m = manifest.data
  const f = facets.data
  const counts = (c) => (c ? Object.entries(c).map(([k, n]) => `${k === '' ? '(empty)' : k} ${n}`).join(', ') : '…')
  const v = info.verification
  return html`
    <section class="manifest">
      <h2>Manifest</h2>
      <table class="fields">
        <tbody>
          <tr><th>version</th><td class="mono">${m.version}</td></tr>
          <tr><th>format</th><td>${m.format}</td></tr>
          <tr><th>schema</th><td>${m.schema.id} v${m.schema.version} <span class="mono muted">${m.schema.hash}</span></td></tr>
          <tr><th>pipeline</th><td>${m.pipeline.name}</td></tr>
          <tr><th>tool</th><td>${m.tool.name} ${m.tool.version}</td></tr>
          <tr><th>counts</th><td>${m.inputs} inputs = ${m.rows} rows + ${m.rejects.total} rejects</td></tr>
          <tr><th>rejects by reason</th><td>${counts(m.rejects.byCode) || 'none'}</td></tr>
          <tr><th>rows by split</th><td class="split-counts">${counts(f?.split)} <span class="muted">(counted from the part files)</span></td></tr>
          ${f?.label ? html`<tr><th>rows by ${f.labelColumn}</th><td>${counts(f.label)}</td></tr>` : null}
          <tr><th>source</th><td>${m.source.inputs} inputs listed, fingerprint <span class="mono">${m.source.fingerprint}</span></td></tr>
          <tr><th>ledger</th><td>${m.ledger.file}, ${m.ledger.lines} lines, <span class="mono">${m.ledger.sha256}</span></td></tr>
          <tr><th>split leaks</th><td>${m.leaks.length === 0 ? 'none' : m.leaks.map((l) => `${l.id} (${l.splits.join(', ')})`).join('; ')}</td></tr>
          <tr><th>checked</th><td class=${v.state === 'damaged' ? 'error' : ''} title=${v.seconds !== undefined ? `${v.seconds} s` : ''}>${v.state === 'ok' ? `every part file's sha256 and the ledger match the manifest (each part checked before its first read)` : v.state === 'skipped' ? 'not checked (--no-verify-data)' : v.state === 'running' ? `checking: ${v.checked} of ${v.parts} part files so far` : `damaged: ${v.message}`}</td></tr>
          <tr><th>index</th><td title=${info.index.buildMs !== null ? `built in ${info.index.buildMs} ms` : ''}>${info.index.state === 'ready' ? `${info.index.rows} rows (columns ${info.index.columns.join(', ')}; about ${bytes(info.index.approxBytes)} in memory)` : info.index.state}</td></tr>
        </tbody>
      </table>
      <h3>Part files <span class="muted">${m.shards.length}, ${bytes(m.shards.reduce((n, s) => n + s.bytes, 0))}</span></h3>
      <table class="data shards">
        <thead><tr><th>file</th><th class="num">rows</th><th class="num">bytes</th><th>sha256</th></tr></thead>
        <tbody>${m.shards.map((s) => html`<tr class="shard"><td class="mono">${s.file}</td><td class="num">${s.rows}</td><td class="num" title=${`${s.bytes} bytes`}>${bytes(s.bytes)}</td><td class="mono small">${s.sha256}</td></tr>`)}</tbody>
      </table>
      <h3>Settings</h3>
      <pre class="settings">${JSON.stringify(m.pipeline.settings, null, 2)}</pre>
    </section>`
}

// ---------- predictions ----------

function PredictionsView({ info, params }) {
  const p = Object.fromEntries(params.entries())
  const order = p.order === 'desc' ? 'desc' : 'asc'
  const offset = Number(p.offset ?? 0)
  const limit = Number(p.limit ?? 25)
  const query = { sort: 'ciou', order, label: p.label, offset, limit }
  const scores = useJson('/api/scores')
  const page = useJson(`/api/rows${link('', query).slice(1)}`)
  const rows = page.data?.rows ?? []
  const selected = p.item !== undefined ? Number(p.item) : rows[0]?.index
  const set = (changes) => go('/predictions', { ...query, item: undefined, ...changes })
  const s = scores.data
  return html`
    <section class="predictions">
      ${scores.error ? html`<p class="error">${scores.error.message}</p>` : null}
      ${s ? html`
        <div class="score-cards">
          <div class="card"><span class="big">${s.overall.items}</span> items</div>
          <div class="card"><span class="big">${pct(s.overall.ciouAt05)}</span> cIoU@0.5</div>
          <div class="card"><span class="big">${pct(s.overall.auc)}</span> AUC</div>
          <div class="card"><span class="big">${pct(s.overall.meanCiou)}</span> mean cIoU</div>
          <div class="card small">${Object.entries(s.protocol).map(([c, pr]) => `${c}: ${pr}`).join(', ')}<br />${s.predsPath}
            ${s.missing.length > 0 ? html`<br /><span class="warn">${s.missing.length} items without a prediction (cIoU 0)</span>` : null}
            ${s.unknown.length > 0 ? html`<br /><span class="warn">${s.unknown.length} predictions for unknown keys (ignored)</span>` : null}</div>
        </div>` : html`<p class="loading">Scoring…</p>`}
      <div class="pred-layout">
        <div class="pred-list">
          ${s ? html`
            <table class="data per-class">
              <thead><tr><th>class</th><th class="num">items</th><th class="num">cIoU@.5</th><th class="num">AUC</th><th class="num">mean</th></tr></thead>
              <tbody>
                ${Object.entries(s.perClass).map(([label, c]) => html`<tr class=${p.label === label ? 'class-row active' : 'class-row'} onClick=${() => set({ label: p.label === label ? undefined : label })}>
                  <td>${label === '' ? '(no class)' : label}</td><td class="num">${c.items}</td><td class="num">${pct(c.ciouAt05)}</td><td class="num">${pct(c.auc)}</td><td class="num">${pct(c.meanCiou)}</td></tr>`)}
              </tbody>
            </table>` : null}
          ${page.data ? html`<${Pager} total=${page.data.total} offset=${page.data.offset} limit=${page.data.limit} onPage=${(o) => set({ offset: o })} onLimit=${(l) => set({ limit: l })} />` : null}
          <table class="data items">
            <thead><tr><th class="num">#</th><th>key</th><th>${info.labelColumn ?? 'label'}</th>
              <th class="num"><button type="button" class="sort-ciou" title="sort by cIoU" onClick=${() => set({ order: order === 'asc' ? 'desc' : 'asc' })}>cIoU ${order === 'asc' ? '▲' : '▼'}</button></th></tr></thead>
            <tbody>
              ${rows.map((row) => html`
                <tr class=${row.index === selected ? 'pred-row selected' : 'pred-row'} data-index=${row.index} data-key=${row.key} data-ciou=${String(row.ciou)} onClick=${() => go('/predictions', { ...query, item: row.index })}>
                  <td class="num">${row.index}</td><td class="mono key">${row.key}</td><td>${row.label}</td><td class="num">${row.ciou === null ? '–' : row.ciou.toFixed(3)}</td>
                </tr>`)}
            </tbody>
          </table>
        </div>
        <div class="pred-detail">${selected !== undefined ? html`<${PredictionItem} info=${info} index=${selected} />` : null}</div>
      </div>
    </section>`
}

/** One scored item: its frame with ground truth and prediction, and its query (the audio's log-mel) beside it. */
function PredictionItem({ info, index }) {
  const row = useJson(`/api/rows/${index}`)
  if (row.error) return html`<p class="error">${row.error.message}</p>`
  if (!row.data) return html`<p class="loading">Loading…</p>`
  const r = row.data
  return html`
    <div class="pred-item">
      <h3 class="mono"><a href=${link(`/row/${index}`)}>${r.key}</a> <span class="muted">${r.label}</span></h3>
      <div class="media side">
        <${Frame} info=${info} index=${index} row=${r} compact=${true} />
        <${LogMel} info=${info} index=${index} frames=${r.frames} nMels=${r.n_mels} compact=${true} />
      </div>
    </div>`
}

render(html`<${App} />`, document.getElementById('app'))
