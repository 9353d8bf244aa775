// The dataset card: README.md beside manifest.json, for the person who finds the folder and for Hugging Face
// `datasets`, whose `load_dataset(<folder>)` reads the card's YAML front matter (the configuration, the features,
// the split size, which it checks against the rows it reads). The card is derived from what the dataset is: the
// manifest, the schema and counts of the rows. So it is not part of the version, the writer rewrites it whenever
// it finishes a build or a merge, and the same dataset always gives the same card bytes: nothing in it names a
// date, a host or an absolute path.
//
// A card reads:
//   ---
//   # <CARD_MARKER>
//   pretty_name: AudioCaps
//   license: other
//   tags: [turnkit, audio-text, ...]
//   configs: [{ config_name: default, data_files: [{ split: train, path: [part-00000.parquet, ...] }] }]
//   dataset_info: { features: [{ name: key, dtype: string }, { name: log_mel, list: float32 }, ...],
//                   splits: [{ name: train, num_examples: <manifest rows> }], download_size: <part bytes> }
//   ---
//   # AudioCaps: turnkit `audio-text` dataset
//   what the corpus is, the version, how to load it, rows by split (and label), rejects by reason, every
//   column, the byte-affecting settings, the terms.
import type { Row } from '../kinds/record.js'
import { REJECT_REASONS, type RejectCode } from '../kinds/reject.js'
import { sortedJsonPretty } from '../formats/json.js'
import { LEDGER_FILE, MANIFEST_FILE } from './layout.js'
import type { Manifest } from './manifest.js'
import { compareSortKeys } from './parquet-writer.js'
import { type FieldType, parseFieldType, type RecordSchema } from './schema.js'

/**
 * The card's second line (a YAML comment inside the front matter): how turnkit knows a README.md is a card it
 * wrote and may replace, and not a file of the user's (see out-dir.ts `isOwnCard`).
 */
export const CARD_MARKER = '# Dataset card written by turnkit from manifest.json with every build: edits here are replaced.'

/** Whether `text` is a card turnkit wrote (it opens with the front matter and CARD_MARKER). */
export const isTurnkitCard = (text: string): boolean => text.startsWith(`---\n${CARD_MARKER}\n`)

/**
 * The one split of the card's configuration. Part files are cut by key, not by corpus split, so each holds rows
 * of several splits and `data_files` cannot name a file list per split; every row goes into this one, and the
 * `split` column says which corpus split a row is in. (`train` because `datasets` names a lone split so; `all`
 * is its reserved name for the union of splits.)
 */
export const CARD_DATA_SPLIT = 'train'

/** Rows of one (split, label) pair of values; `label` is null when the schema has no label column. */
export interface RowCount {
  split: string
  label: string | null
  rows: number
}

/** What a card says about a corpus it knows (CORPUS_CARDS, by pipeline name). */
export interface CorpusCard {
  /** the corpus' name as its authors write it */
  prettyName: string
  /** one line: what it is and whose it is */
  summary: string
  /** where the media of the rows come from, for the terms section */
  media: string
  /** Hugging Face task ids that name what the corpus was made for; left out where none fits */
  taskCategories?: readonly string[]
  /** topic tags beside `turnkit` and the schema id */
  tags?: readonly string[]
}

/**
 * The corpora `turnkit prepare` knows. No corpus here states a licence that covers what a row holds (its media
 * stay their owners'), so every card says `license: other` and names where the media come from.
 */
export const CORPUS_CARDS: Readonly<Record<string, CorpusCard>> = {
  audiocaps: {
    prettyName: 'AudioCaps',
    summary: 'AudioCaps (Kim et al., NAACL 2019): 10-second clips of AudioSet YouTube videos with human-written captions, one per training clip and five per validation and test clip.',
    media: 'YouTube videos (AudioSet)',
    tags: ['audio-captioning', 'audio-text-retrieval'],
  },
  clotho: {
    prettyName: 'Clotho',
    summary: 'Clotho (Drossos et al., ICASSP 2020): 15 to 30 second Freesound recordings with five captions each, in development, validation and evaluation splits.',
    media: 'Freesound recordings, each under its own Creative Commons licence',
    tags: ['audio-captioning', 'audio-text-retrieval'],
  },
  refcoco: {
    prettyName: 'RefCOCO',
    summary: 'RefCOCO (Yu et al., ECCV 2016; expressions collected with the ReferItGame): referring expressions for objects in MS COCO images, UNC (train, val, testA, testB) and Google splits.',
    media: 'MS COCO images (from Flickr)',
    tags: ['referring-expression-comprehension', 'visual-grounding'],
  },
  'refcoco+': {
    prettyName: 'RefCOCO+',
    summary: 'RefCOCO+ (Yu et al., ECCV 2016): referring expressions for objects in MS COCO images without absolute location words, UNC splits (train, val, testA, testB).',
    media: 'MS COCO images (from Flickr)',
    tags: ['referring-expression-comprehension', 'visual-grounding'],
  },
  refcocog: {
    prettyName: 'RefCOCOg',
    summary: 'RefCOCOg (Mao et al., CVPR 2016): longer referring expressions for objects in MS COCO images, UMD splits (Nagaraja et al., ECCV 2016) or the Google split.',
    media: 'MS COCO images (from Flickr)',
    tags: ['referring-expression-comprehension', 'visual-grounding'],
  },
  referitgame: {
    prettyName: 'ReferItGame',
    summary: 'ReferItGame (Kazemzadeh et al., EMNLP 2014): referring expressions for objects and regions of SAIAPR TC-12 images (the refclef release).',
    media: 'SAIAPR TC-12 images',
    tags: ['referring-expression-comprehension', 'visual-grounding'],
  },
  'flickr30k-entities': {
    prettyName: 'Flickr30k Entities',
    summary: "Flickr30k Entities (Plummer et al., ICCV 2015): phrases of the Flickr30k captions linked to boxes in their image; here one row per coreference chain with the chain's phrases.",
    media: 'Flickr30k images (from Flickr)',
    tags: ['phrase-grounding', 'visual-grounding'],
  },
  vggsound: {
    prettyName: 'VGGSound',
    summary: 'VGGSound (Chen et al., ICASSP 2020): 10-second YouTube clips, each labelled with one of 309 audio-visual classes.',
    media: "YouTube videos (VGGSound's annotations are published under CC BY 4.0; the videos stay their owners')",
    taskCategories: ['audio-classification'],
    tags: ['audio-visual'],
  },
  vggss: {
    prettyName: 'VGG-Sound Source (VGG-SS)',
    summary: 'VGG-Sound Source (Chen et al., CVPR 2021): VGGSound test clips whose sounding objects are boxed in one frame, for sound-source localization.',
    media: 'YouTube videos (VGGSound)',
    tags: ['audio-visual', 'sound-source-localization'],
  },
  music: {
    prettyName: 'MUSIC (solo)',
    summary: "MUSIC (Zhao et al., ECCV 2018, 'The Sound of Pixels'): YouTube videos of solo instrument performances, labelled with the instrument.",
    media: 'YouTube videos',
    tags: ['audio-visual'],
  },
  'music-solo': {
    prettyName: 'MUSIC-Solo',
    summary: 'MUSIC-Solo test frames (solotest.json): frames of MUSIC solo performances with the sounding instrument boxed, for sound-source localization.',
    media: 'YouTube videos (MUSIC)',
    tags: ['audio-visual', 'sound-source-localization'],
  },
  'flickr-soundnet': {
    prettyName: 'Flickr-SoundNet',
    summary: 'Flickr-SoundNet test set (Senocak et al., CVPR 2018): frames of Flickr videos with their sound, sound sources boxed by several annotators.',
    media: 'Flickr videos (SoundNet)',
    tags: ['audio-visual', 'sound-source-localization'],
  },
}

/** The column whose values the card counts rows by, beside `split`: a class label, where the schema has one. */
const LABEL_COLUMNS = ['label', 'category'] as const

/** The utf8 column named `name` of `schema`, or null when it has none. */
function textColumn(schema: RecordSchema, name: string): string | null {
  return schema.fields.some((f) => f.name === name && f.type === 'utf8') ? name : null
}

/** The column that names a row's corpus split (`split`), or null when the schema has none. */
export const splitColumn = (schema: RecordSchema): string | null => textColumn(schema, 'split')

/** The class-label column the card counts by (`label`, else `category`), or null when the schema has neither. */
export function labelColumn(schema: RecordSchema): string | null {
  for (const name of LABEL_COLUMNS) if (textColumn(schema, name) !== null) return name
  return null
}

/**
 * The columns `countRows` reads, for a reader that counts from part files: the split and label columns, or the
 * sort key when the schema has neither (a read of no column would give no rows to count).
 */
export function countedColumns(schema: RecordSchema): string[] {
  const columns = [splitColumn(schema), labelColumn(schema)].filter((c): c is string => c !== null)
  return columns.length > 0 ? columns : [schema.sortKey]
}

/**
 * Rows per (split, label) of `rows`, sorted. A row of a schema without a split column counts under split ''.
 * The writer counts each unit's rows as it writes them, so the card needs no second pass over the parts.
 */
export function countRows(schema: RecordSchema, rows: Iterable<Row>): RowCount[] {
  const split = splitColumn(schema)
  const label = labelColumn(schema)
  return sumCounts([Array.from(rows, (row) => ({ split: split === null ? '' : String(row[split]), label: label === null ? null : String(row[label]), rows: 1 }))])
}

/** The sum of row counts (of units, of parts), one entry per (split, label), sorted by split then label. */
export function sumCounts(lists: Iterable<readonly RowCount[]>): RowCount[] {
  // Keys are corpus text: a Map, not an object, so a label such as `__proto__` is only a label.
  const sums = new Map<string, RowCount>()
  for (const list of lists) {
    for (const c of list) {
      const key = JSON.stringify([c.split, c.label])
      const sum = sums.get(key)
      if (sum === undefined) sums.set(key, { split: c.split, label: c.label, rows: c.rows })
      else sum.rows += c.rows
    }
  }
  return [...sums.values()].sort((a, b) => compareSortKeys(a.split, b.split) || compareLabels(a.label, b.label))
}

const compareLabels = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? -1 : b === null ? 1 : compareSortKeys(a, b))

// ---- YAML front matter -----------------------------------------------------------------------------------------

/** The little YAML the front matter needs: text, integers, lists and mappings (keys in insertion order). */
type Yaml = string | number | readonly Yaml[] | { readonly [key: string]: Yaml }

/** The Hugging Face `datasets` dtype of each turnkit scalar type (datasets' Value names). */
const HF_DTYPES = { utf8: 'string', int32: 'int32', int64: 'int64', float32: 'float32', float64: 'float64', bool: 'bool', binary: 'binary' } as const

/**
 * A column's feature as `datasets` writes it in `dataset_info.features` (`Features._to_yaml_list`): a scalar is
 * `dtype: <Value>`, a list is `list: <item>`, nested for a list of lists. JPEG bytes stay `binary` (an `Image`
 * feature is a struct of bytes and path, which the part files are not); a shaped list stays a variable list, as
 * the part files store it, and the body says its shape.
 */
export function hfFeature(name: string, type: FieldType): { [key: string]: Yaml } {
  const inner = (t: FieldType): Yaml => (t.kind === 'scalar' ? HF_DTYPES[t.scalar] : { list: inner(t.item) })
  return type.kind === 'scalar' ? { name, dtype: HF_DTYPES[type.scalar] } : { name, list: inner(type.item) }
}

// Words YAML 1.1 (PyYAML, which `datasets` uses) reads as booleans or null when unquoted.
const YAML_WORDS = /^(y|yes|n|no|true|false|on|off|null|~)$/i

/** A YAML scalar: plain when it is a simple name, else double-quoted with everything outside printable ASCII escaped. */
function yamlScalar(value: string | number): string {
  if (typeof value === 'number') return String(value)
  if (/^[A-Za-z_][A-Za-z0-9_./+-]*$/.test(value) && !YAML_WORDS.test(value)) return value
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Block-style YAML lines of a mapping, `indent` deep; lists sit at their key's indent, as huggingface_hub writes them. */
function yamlMapping(value: { readonly [key: string]: Yaml }, indent: string): string[] {
  const lines: string[] = []
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number') lines.push(`${indent}${key}: ${yamlScalar(v)}`)
    else if (isYamlList(v)) lines.push(...(v.length === 0 ? [`${indent}${key}: []`] : [`${indent}${key}:`, ...yamlList(v, indent)]))
    else lines.push(`${indent}${key}:`, ...yamlMapping(v, `${indent}  `))
  }
  return lines
}

function yamlList(items: readonly Yaml[], indent: string): string[] {
  const lines: string[] = []
  for (const item of items) {
    if (typeof item === 'string' || typeof item === 'number') lines.push(`${indent}- ${yamlScalar(item)}`)
    else if (isYamlList(item)) throw new Error('dataset card: a list directly inside a list is not written')
    else {
      const [first = '', ...rest] = yamlMapping(item, `${indent}  `)
      lines.push(`${indent}- ${first.slice(indent.length + 2)}`, ...rest)
    }
  }
  return lines
}

const isYamlList = (v: Yaml): v is readonly Yaml[] => Array.isArray(v)

/** Hugging Face's size category of a row count (`n<1K`, `1K<n<10K`, ...). */
function sizeCategory(rows: number): string {
  const steps = ['1K', '10K', '100K', '1M', '10M', '100M', '1B', '10B', '100B', '1T']
  const limits = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12]
  const i = limits.findIndex((limit) => rows < limit)
  return i === -1 ? 'n>1T' : i === 0 ? 'n<1K' : `${steps[i - 1]}<n<${steps[i]}`
}

/** The front matter's fields, in the order the card writes them. */
function frontMatter(manifest: Manifest, schema: RecordSchema, corpus: CorpusCard): { [key: string]: Yaml } {
  const files = manifest.shards.map((s) => s.file)
  const bytes = manifest.shards.reduce((sum, s) => sum + s.bytes, 0)
  return {
    pretty_name: corpus.prettyName,
    license: 'other',
    ...(corpus.taskCategories && corpus.taskCategories.length > 0 ? { task_categories: corpus.taskCategories } : {}),
    tags: ['turnkit', schema.id, ...(corpus.tags ?? [])],
    size_categories: [sizeCategory(manifest.rows)],
    // Without a part file there is nothing to load: a configuration with no data files would only fail.
    ...(files.length > 0 ? { configs: [{ config_name: 'default', data_files: [{ split: CARD_DATA_SPLIT, path: files }] }] } : {}),
    dataset_info: {
      features: schema.fields.map((f) => hfFeature(f.name, parseFieldType(f.type))),
      splits: [{ name: CARD_DATA_SPLIT, num_examples: manifest.rows }],
      download_size: bytes,
    },
  }
}

// ---- body ------------------------------------------------------------------------------------------------------

/** Text for a Markdown table cell or a line: pipes and backslashes escaped, HTML and line breaks defused. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/[\r\n]+/g, ' ')
}

/** Inline code for a table cell: pipes escaped (GFM tables split on them even in code), backticks and breaks defused. */
const code = (text: string): string => `\`${text.replace(/\|/g, '\\|').replace(/`/g, "'").replace(/[\r\n]+/g, ' ')}\``

/** A cell for a corpus value: an empty one is shown as such rather than as a blank. */
const valueCell = (text: string): string => (text === '' ? '*(empty)*' : cell(text))

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], numeric: readonly boolean[] = []): string[] {
  const align = header.map((_, i) => (numeric[i] ? '---:' : '---'))
  return [`| ${header.join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)]
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** The sections of the body, in order; each a list of lines. */
function body(manifest: Manifest, schema: RecordSchema, counts: readonly RowCount[], corpus: CorpusCard): string[][] {
  return [
    overview(manifest, schema, corpus),
    loading(manifest, schema),
    splitCounts(manifest, schema, counts),
    labelCounts(schema, counts),
    rejectCounts(manifest),
    leakList(manifest),
    columns(schema),
    settings(manifest),
    terms(corpus),
  ].filter((lines) => lines.length > 0)
}

function overview(manifest: Manifest, schema: RecordSchema, corpus: CorpusCard): string[] {
  const bytes = manifest.shards.reduce((sum, s) => sum + s.bytes, 0)
  return [
    `# ${cell(corpus.prettyName)}: turnkit \`${schema.id}\` dataset`,
    '',
    cell(corpus.summary),
    '',
    cell(schema.description),
    '',
    ...table(['', ''], [
      ['version', `\`${manifest.version}\``],
      ['schema', `\`${schema.id}\` v${manifest.schema.version}, \`${manifest.schema.hash}\``],
      ['pipeline', code(manifest.pipeline.name)],
      ['built with', `${cell(manifest.tool.name)} ${cell(manifest.tool.version)}`],
      ['rows', `${manifest.rows} of ${plural(manifest.inputs, 'input')} (${manifest.rejects.total} rejected)`],
      ['part files', `${manifest.shards.length}, ${bytes} bytes`],
      ['source listing', `\`${manifest.source.fingerprint}\``],
    ]),
    '',
    `The version names the rows and the rejects: it is the sha256 of the schema hash, the settings below, every part ` +
      `file's sha256 and the ledger's (${MANIFEST_FILE} has them all). This card is derived from them and is not part of ` +
      'it: turnkit writes it again whenever it builds or merges the dataset. `turnkit verify <folder>` recomputes every ' +
      'hash and count.',
  ]
}

function loading(manifest: Manifest, schema: RecordSchema): string[] {
  const split = splitColumn(schema)
  const folder = 'path/to/this/folder'
  const lines = ['## Loading', '']
  if (manifest.shards.length === 0) return [...lines, 'Every input was rejected: the dataset has no part file and no row to load.']
  lines.push(
    `The configuration above puts every part file into one split, \`${CARD_DATA_SPLIT}\`, whatever corpus split a row ` +
      'belongs to: part files are cut by record key, not by split, so one part holds rows of several splits' +
      (split === null ? '.' : `. The \`${split}\` column says which split a row is in; select one with a filter.`),
    '',
    '```python',
    'from datasets import load_dataset',
    `rows = load_dataset("${folder}", split="${CARD_DATA_SPLIT}")  # this card's configuration and features`,
    ...(split === null ? [] : [`test = rows.filter(lambda s: s == "test", input_columns="${split}")`]),
    `# without the card: load_dataset("parquet", data_files="${folder}/part-*.parquet", split="${CARD_DATA_SPLIT}")`,
    '',
    'import glob, pyarrow.parquet as pq',
    `table = pq.read_table(sorted(glob.glob("${folder}/part-*.parquet")))`,
    '```',
    '',
    '```sql',
    `-- DuckDB`,
    split === null ? `SELECT count(*) FROM '${folder}/part-*.parquet';` : `SELECT ${split}, count(*) FROM '${folder}/part-*.parquet' GROUP BY ${split} ORDER BY ${split};`,
    '```',
    '',
    '```js',
    "import { openDataset } from 'turnkit'",
    `const dataset = await openDataset('${folder}') // checks every part file against ${MANIFEST_FILE}`,
    `for await (const row of dataset.rows({ columns: ['${schema.sortKey}'${split === null ? '' : `, '${split}'`}] })) console.log(row)`,
    '```',
  )
  const hints = valueHints(schema)
  if (hints.length > 0) lines.push('', ...hints)
  return lines
}

/** How to read the values that are not what they look like: flat lists of a matrix, encoded bytes. */
function valueHints(schema: RecordSchema): string[] {
  const hints: string[] = []
  for (const f of schema.fields) {
    if (f.shape !== undefined && f.shape.length > 1) {
      const dims = f.shape.map((d) => (typeof d === 'number' ? String(d) : `row["${d}"]`))
      const item = parseFieldType(f.type)
      const dtype = item.kind === 'list' && item.item.kind === 'scalar' ? HF_DTYPES[item.item.scalar] : 'float32'
      hints.push(`- \`${f.name}\` is flat, row-major \`[${f.shape.join(', ')}]\`: \`np.asarray(row["${f.name}"], np.${dtype}).reshape(${dims.join(', ')})\`.`)
    } else if (f.type === 'binary' && f.name.endsWith('_jpeg')) {
      hints.push(`- \`${f.name}\` holds the bytes of a JPEG file: \`PIL.Image.open(io.BytesIO(row["${f.name}"]))\`.`)
    }
  }
  return hints
}

function splitCounts(manifest: Manifest, schema: RecordSchema, counts: readonly RowCount[]): string[] {
  const column = splitColumn(schema)
  if (column === null) return []
  const bySplit = splitTotals(counts)
  return [
    '## Rows by split',
    '',
    `By the \`${column}\` column, as the corpus names its splits.`,
    '',
    ...table(['split', 'rows'], [...[...bySplit].map(([s, n]) => [valueCell(s), n]), ['**all**', manifest.rows]], [false, true]),
  ]
}

function splitTotals(counts: readonly RowCount[]): Map<string, number> {
  const totals = new Map<string, number>()
  for (const c of counts) totals.set(c.split, (totals.get(c.split) ?? 0) + c.rows)
  return totals
}

function labelCounts(schema: RecordSchema, counts: readonly RowCount[]): string[] {
  const column = labelColumn(schema)
  if (column === null || counts.length === 0) return []
  const splits = [...splitTotals(counts).keys()]
  const byLabel = new Map<string, Map<string, number>>()
  for (const c of counts) {
    const label = c.label ?? ''
    const row = byLabel.get(label) ?? new Map<string, number>()
    row.set(c.split, (row.get(c.split) ?? 0) + c.rows)
    byLabel.set(label, row)
  }
  const labels = [...byLabel.keys()].sort(compareSortKeys)
  const perSplit = splitColumn(schema) !== null && splits.length > 1
  const header = [column, ...(perSplit ? splits.map(valueCell) : []), 'rows']
  const rows = labels.map((label) => {
    const row = byLabel.get(label) as Map<string, number>
    const total = [...row.values()].reduce((a, b) => a + b, 0)
    return [valueCell(label), ...(perSplit ? splits.map((s) => row.get(s) ?? 0) : []), total]
  })
  return [
    `## Rows by ${column}`,
    '',
    `${plural(labels.length, `distinct \`${column}\` value`)}${perSplit ? ', rows per split' : ''}.`,
    '',
    ...table(header, rows, header.map((_, i) => i > 0)),
  ]
}

function rejectCounts(manifest: Manifest): string[] {
  const lines = ['## Rejects', '']
  if (manifest.rejects.total === 0) return [...lines, `No input was rejected: every one of the ${manifest.inputs} is a row.`]
  const codes = (Object.entries(manifest.rejects.byCode) as [RejectCode, number][]).sort(([a], [b]) => compareSortKeys(a, b))
  return [
    ...lines,
    `${plural(manifest.rejects.total, 'input')} of ${manifest.inputs} did not become rows. ${LEDGER_FILE} has one line for each, in key order: ` +
      'key, source file, stage, reason and message.',
    '',
    ...table(['reason', 'inputs', 'meaning'], codes.map(([code, n]) => [`\`${code}\``, n, cell(REJECT_REASONS[code].meaning)]), [false, true, false]),
  ]
}

function leakList(manifest: Manifest): string[] {
  if (manifest.leaks.length === 0) return []
  const shown = manifest.leaks.slice(0, 10)
  return [
    '## Items in more than one split',
    '',
    `${plural(manifest.leaks.length, 'source item is', 'source items are')} in more than one split of the corpus (${MANIFEST_FILE} \`leaks\` lists every one with its keys)` +
      `${manifest.leaks.length > shown.length ? `; the first ${shown.length}` : ''}:`,
    '',
    ...table(['item', 'splits', 'rows'], shown.map((l) => [code(l.id), l.splits.map(valueCell).join(', '), l.keys.length]), [false, false, true]),
  ]
}

function columns(schema: RecordSchema): string[] {
  const rows = schema.fields.map((f) => {
    const feature = hfFeature(f.name, parseFieldType(f.type))
    const hf = 'dtype' in feature ? String(feature.dtype) : featureText(feature.list as Yaml)
    return [`\`${f.name}\``, `\`${f.type}\`${f.nullable ? ' (nullable)' : ''}`, `\`${hf}\``, f.shape === undefined ? '' : `[${f.shape.join(', ')}]`, cell(f.unit ?? ''), cell(f.description)]
  })
  return [
    '## Columns',
    '',
    `Schema \`${schema.id}\` v${schema.version}. Rows are sorted by \`${schema.sortKey}\` (UTF-8 byte order), within and across part files.`,
    '',
    ...table(['column', 'type', 'datasets feature', 'shape', 'unit', 'description'], rows),
  ]
}

/** A list feature in one line: `list<list<int32>>`. */
const featureText = (item: Yaml): string => `list<${typeof item === 'string' ? item : featureText((item as { list: Yaml }).list)}>`

function settings(manifest: Manifest): string[] {
  return [
    '## Settings',
    '',
    `Every setting of ${code(manifest.pipeline.name)} that changes bytes, as ${MANIFEST_FILE} records them (\`pipeline.settings\`) and the version hashes them:`,
    '',
    '```json',
    sortedJsonPretty(manifest.pipeline.settings),
    '```',
  ]
}

function terms(corpus: CorpusCard): string[] {
  return [
    '## Terms',
    '',
    `turnkit adds no licence of its own. The rows are derived from ${cell(corpus.media)} and from the corpus' own release: ` +
      'their terms apply, hence `license: other` above.',
  ]
}

/** The card of a pipeline CORPUS_CARDS does not know (a library user's own rows): it names the pipeline only. */
const unknownCorpus = (pipeline: string): CorpusCard => ({
  prettyName: pipeline,
  summary: `Rows written by turnkit for the pipeline ${code(pipeline)}.`,
  media: `the sources of ${code(pipeline)}`,
})

/** What `datasetCard` needs. */
export interface CardInput {
  manifest: Manifest
  /** the schema the manifest names (its hash is the manifest's schema.hash) */
  schema: RecordSchema
  /** rows per split and label over every part file (`countRows`, `sumCounts`); their sum is manifest.rows */
  counts: readonly RowCount[]
  /** default CORPUS_CARDS[manifest.pipeline.name], else a card that names the pipeline only */
  corpus?: CorpusCard
}

/**
 * The dataset card (README.md) of a finished dataset: YAML front matter `datasets` reads, then the body. Pure:
 * the same input gives the same bytes. Throws when the counts do not add up to the manifest's rows.
 */
export function datasetCard({ manifest, schema, counts, corpus }: CardInput): string {
  const counted = counts.reduce((sum, c) => sum + c.rows, 0)
  if (counted !== manifest.rows) throw new Error(`dataset card: the row counts add up to ${counted}, the manifest has ${manifest.rows} rows`)
  const about = corpus ?? (Object.hasOwn(CORPUS_CARDS, manifest.pipeline.name) ? CORPUS_CARDS[manifest.pipeline.name]! : unknownCorpus(manifest.pipeline.name))
  const yaml = ['---', CARD_MARKER, ...yamlMapping(frontMatter(manifest, schema, about), ''), '---']
  const sections = body(manifest, schema, counts, about).map((lines) => lines.join('\n'))
  return `${yaml.join('\n')}\n\n${sections.join('\n\n')}\n`
}
