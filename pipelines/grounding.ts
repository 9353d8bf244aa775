// Grounding corpora (the source domain): RefCOCO, RefCOCO+, RefCOCOg, ReferItGame (refclef) and Flickr30k
// Entities, raw layouts -> GroundingSource records, one per referred object with all its expressions and its box
// in pixels. Listing only: metadata is read and checked here, images are never opened (the image-text-box stage
// decodes them). Records are plain JSON data.
import { basename, extname } from 'node:path'
import { reject, type Reject } from '../src/kinds/reject.js'
import type { GroundingCorpus, GroundingSource } from '../src/kinds/image-text-box.js'
import { safeRelativePath } from '../src/kinds/paths.js'
import { parseJson } from '../src/formats/json.js'
import { CorpusFileError, metadataNotFound, type Corpus } from '../src/dataset/corpus.js'
import { parseXml, type XmlElement } from '../src/formats/xml.js'
import { loadPickle } from '../src/formats/pickle.js'
import { readParquetRows } from '../src/dataset/parquet-reader.js'
import type { BoxXywh } from '../src/image/boxes.js'

/** Splits of each corpus as its refs / split files name them (UNC splits for RefCOCO and RefCOCO+). */
export const REFCOCO_SPLITS = ['train', 'val', 'testA', 'testB'] as const
export const REFCOCOG_SPLITS = ['train', 'val', 'test'] as const
export const FLICKR30K_SPLITS = ['train', 'val', 'test'] as const

/** Folders (relative to the corpus root) searched for COCO train2014 images, first existing one used. */
export const COCO_IMAGE_DIRS = [
  'images/train2014',
  'train2014',
  'images/mscoco/images/train2014', // the refer repo: data/images/mscoco/images/train2014
  'images/mscoco/train2014',
  'coco/train2014',
  'data/images/mscoco/images/train2014',
  'data/images/train2014',
] as const

/** Folders searched (recursively, indexed once) for ReferItGame's SAIAPR TC-12 images. */
export const SAIAPR_IMAGE_DIRS = ['images/saiapr_tc-12', 'saiapr_tc-12', 'data/images/saiapr_tc-12'] as const

/** Folders searched for Flickr30k images. */
export const FLICKR30K_IMAGE_DIRS = ['flickr30k-images', 'flickr30k_images', 'images', 'Images'] as const

/** Refs exports accepted besides the pickle, in order of preference after it. */
export const REFS_EXTENSIONS = ['.p', '.json', '.jsonl', '.parquet'] as const

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp'])

/** How one refer-style corpus is laid out. */
interface ReferLayout {
  corpus: Exclude<GroundingCorpus, 'flickr30k-entities'>
  /** Folder names holding refs + instances.json, e.g. `refcoco+`; also looked for under `data/` and at the root. */
  dir: string
  /** Refs file stems in order of preference (`refs(unc)`), then `refs`. */
  splitBy: readonly string[]
  images: 'coco' | 'saiapr'
}

const LAYOUTS: Record<Exclude<GroundingCorpus, 'flickr30k-entities'>, ReferLayout> = {
  refcoco: { corpus: 'refcoco', dir: 'refcoco', splitBy: ['unc', 'google'], images: 'coco' },
  'refcoco+': { corpus: 'refcoco+', dir: 'refcoco+', splitBy: ['unc'], images: 'coco' },
  refcocog: { corpus: 'refcocog', dir: 'refcocog', splitBy: ['umd', 'google'], images: 'coco' },
  referitgame: { corpus: 'referitgame', dir: 'refclef', splitBy: ['berkeley', 'unc'], images: 'saiapr' },
}

const clean = (text: string): string => text.replace(/\s+/g, ' ').trim()
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const asInt = (x: unknown): number | null => {
  const n = typeof x === 'bigint' ? Number(x) : typeof x === 'string' && /^-?\d+$/.test(x.trim()) ? Number(x) : x
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : null
}

/** What instances.json (COCO format) says about images, annotations and categories. */
interface Instances {
  images: Map<number, { fileName: string | null; width: number | null; height: number | null }>
  annotations: Map<number, { imageId: number | null; bbox: unknown; categoryId: number | null }>
  categories: Map<number, string>
}

// instances.json reads (COCO format, abridged):
//   {"images": [{"id": 581857, "file_name": "COCO_train2014_000000581857.jpg", "width": 640, "height": 427}],
//    "annotations": [{"id": 1719310, "image_id": 581857, "bbox": [103.93, 299.99, 134.22, 177.42], "category_id": 1}],
//    "categories": [{"id": 1, "name": "person"}]}
async function readInstances(corpus: Corpus, source: string): Promise<Instances> {
  const value = await corpus.readJson(source)
  if (!isRecord(value)) throw new Error(`${source}: expected a COCO instances object with images, annotations, categories`)
  const list = (name: string): Record<string, unknown>[] => (Array.isArray(value[name]) ? (value[name] as unknown[]).filter(isRecord) : [])
  const instances: Instances = { images: new Map(), annotations: new Map(), categories: new Map() }
  for (const image of list('images')) {
    const id = asInt(image.id)
    if (id === null) continue
    instances.images.set(id, {
      fileName: typeof image.file_name === 'string' ? image.file_name : null,
      width: asInt(image.width),
      height: asInt(image.height),
    })
  }
  for (const ann of list('annotations')) {
    const id = asInt(ann.id)
    if (id !== null) instances.annotations.set(id, { imageId: asInt(ann.image_id), bbox: ann.bbox, categoryId: asInt(ann.category_id) })
  }
  for (const category of list('categories')) {
    const id = asInt(category.id)
    if (id !== null && typeof category.name === 'string') instances.categories.set(id, category.name)
  }
  return instances
}

/** Rows of a refs file: the items, plus lines of a JSONL file that did not parse (bad-row rejects). */
interface RefsFile {
  refs: unknown[]
  badLines: { line: number; message: string }[]
}

/**
 * Read a refs file by extension: `.p` (a Python pickle, data-only: a pickle carrying code throws naming the file
 * and opcode, and the whole listing fails, since the file is untrusted), `.json` (a list, or `{refs: [...]}`),
 * `.jsonl` (one ref per line), `.parquet` (one ref per row, nested sentences as list<struct>).
 */
async function readRefsFile(corpus: Corpus, source: string): Promise<RefsFile> {
  const ext = extname(source)
  if (ext === '.p') {
    const value = loadPickle(await corpus.readBytes(source), { source })
    if (!Array.isArray(value)) throw new Error(`${source}: expected a pickled list of refs, got ${value === null ? 'None' : typeof value}`)
    return { refs: value, badLines: [] }
  }
  if (ext === '.json') {
    const value = await corpus.readJson(source)
    const refs = Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.refs) ? value.refs : null
    if (refs === null) throw new Error(`${source}: expected a JSON list of refs (or {"refs": [...]})`)
    return { refs, badLines: [] }
  }
  if (ext === '.jsonl') {
    const { values, bad } = await corpus.readJsonLines(source)
    return { refs: values, badLines: bad.map(({ line, message }) => ({ line, message: `${source} line ${line}: ${message}` })) }
  }
  const refs: unknown[] = []
  try {
    for await (const row of readParquetRows(await corpus.readBytes(source), { form: 'json' })) refs.push(row)
  } catch (error) {
    if (error instanceof CorpusFileError) throw error
    throw new Error(`${source}: ${(error as Error).message.replace('(in-memory file): ', '')}`)
  }
  return { refs, badLines: [] }
}

/** The first of `dirs` (relative to the corpus root) that exists, or null. */
async function firstExisting(corpus: Corpus, dirs: readonly string[]): Promise<string | null> {
  for (const dir of dirs) if (await corpus.exists(dir)) return dir
  return null
}

/** Every image file under `dir` (relative to root), recursively: `relative path` set and `stem -> first path`. */
async function indexImages(corpus: Corpus, dir: string): Promise<{ paths: Set<string>; byStem: Map<string, string> }> {
  const names = (await corpus.list(dir, { recursive: true })).filter((e) => e.kind === 'file').map((e) => e.name)
  const paths = new Set<string>()
  const byStem = new Map<string, string>()
  for (const name of names) {
    if (!IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) continue
    const rel = `${dir}/${name}`
    paths.add(rel)
    const stem = basename(name, extname(name))
    if (!byStem.has(stem)) byStem.set(stem, rel)
  }
  return { paths, byStem }
}

/** Finds the refs file and instances.json of a refer-style corpus: `<root>/<dir>`, `<root>/data/<dir>` or `<root>`. */
async function findReferFiles(corpus: Corpus, layout: ReferLayout): Promise<{ refs: string; instances: string | null }> {
  const tried: string[] = []
  for (const dir of [layout.dir, `data/${layout.dir}`, '.']) {
    const stems = [...layout.splitBy.map((s) => `refs(${s})`), 'refs']
    for (const stem of stems) {
      for (const ext of REFS_EXTENSIONS) {
        const rel = dir === '.' ? `${stem}${ext}` : `${dir}/${stem}${ext}`
        tried.push(rel)
        if (await corpus.exists(rel)) {
          const instances = dir === '.' ? 'instances.json' : `${dir}/instances.json`
          return { refs: rel, instances: (await corpus.exists(instances)) ? instances : null }
        }
      }
    }
  }
  throw metadataNotFound(corpus, layout.corpus, [...tried.slice(0, 6), '... and the same under data/ and at the root'])
}

/**
 * Expressions of a ref: each sentence's `raw` text (falling back to `sent`, or to the sentence itself when it is
 * a string, as some exports store them), whitespace-collapsed, empty ones dropped.
 */
function expressionsOf(ref: Record<string, unknown>): string[] {
  let sentences = ref.sentences
  if (typeof sentences === 'string') {
    try {
      sentences = JSON.parse(sentences) // some Parquet exports store the list as a JSON string
    } catch {
      sentences = [sentences] // a plain string: one expression
    }
  }
  if (!Array.isArray(sentences)) return []
  return sentences
    .map((s) => (typeof s === 'string' ? s : isRecord(s) ? (typeof s.raw === 'string' ? s.raw : typeof s.sent === 'string' ? s.sent : '') : ''))
    .map(clean)
    .filter((s) => s !== '')
}

/** A 4-number box, or null; NaN, infinite and null coordinates are kept as NaN for the caller to refuse. */
function boxOf(value: unknown): BoxXywh | null {
  if (typeof value === 'string') {
    try {
      value = parseJson(value, 'bbox')
    } catch {
      return null
    }
  }
  if (!Array.isArray(value) || value.length !== 4) return null
  return value.map((v) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN)) as BoxXywh
}

/**
 * Lists refs of a refer-style corpus (see the corpus functions below). Throws, naming the file, when the refs
 * file is missing, unreadable, a pickle carrying code, or no image folder exists; every per-ref problem is a Reject.
 */
async function* listReferCorpus(source: Corpus, layout: ReferLayout, splits?: readonly string[]): AsyncGenerator<GroundingSource | Reject> {
  const { corpus } = layout
  const files = await findReferFiles(source, layout)
  const { refs, badLines } = await readRefsFile(source, files.refs)
  const instances = files.instances === null ? null : await readInstances(source, files.instances)

  let resolveImage: (imageId: number, fileName: string | null) => { path: string } | { code: 'unsafe-path' | 'missing-file'; message: string }
  if (layout.images === 'coco') {
    const dir = await firstExisting(source, COCO_IMAGE_DIRS)
    if (dir === null) throw new Error(`${corpus}: no COCO train2014 image folder in ${source.location} (looked for ${COCO_IMAGE_DIRS.join(', ')})`)
    resolveImage = (imageId, fileName) => {
      const name = fileName ?? `COCO_train2014_${String(imageId).padStart(12, '0')}.jpg`
      const path = safeRelativePath(name) === null ? null : safeRelativePath(`${dir}/${name}`)
      if (path === null || !path.startsWith(`${dir}/`)) return { code: 'unsafe-path', message: `image file_name ${JSON.stringify(name)} leaves ${dir}/; not opened` }
      return { path }
    }
  } else {
    const dir = await firstExisting(source, SAIAPR_IMAGE_DIRS)
    if (dir === null) throw new Error(`${corpus}: no SAIAPR TC-12 image folder in ${source.location} (looked for ${SAIAPR_IMAGE_DIRS.join(', ')})`)
    const index = await indexImages(source, dir)
    resolveImage = (imageId, fileName) => {
      if (fileName !== null && safeRelativePath(fileName) === null) {
        return { code: 'unsafe-path', message: `image file_name ${JSON.stringify(fileName)} leaves ${dir}/; not opened` }
      }
      // As given (`00/images/25.jpg` under the folder), else by file stem anywhere under it, else `<image_id>.jpg`.
      const direct = fileName === null ? null : safeRelativePath(`${dir}/${fileName}`)
      if (direct !== null && index.paths.has(direct)) return { path: direct }
      const byStem = (fileName === null ? undefined : index.byStem.get(basename(fileName, extname(fileName)))) ?? index.byStem.get(String(imageId))
      if (byStem !== undefined) return { path: byStem }
      return { code: 'missing-file', message: `no image ${fileName ?? `${imageId}.jpg`} for image_id ${imageId} under ${dir}/` }
    }
  }

  for (const { line, message } of badLines) yield reject(`${corpus}/bad-row/line-${line}`, 'list', 'bad-row', message, files.refs)
  const wanted = splits === undefined ? null : new Set(splits)
  // A ref reads (refs(unc).p, shown as JSON):
  //   {"ref_id": 0, "ann_id": 1719310, "image_id": 581857, "split": "train", "category_id": 1, "sent_ids": [0, 1],
  //    "file_name": "COCO_train2014_000000581857_1719310.jpg",
  //    "sentences": [{"raw": "THE LADY WITH THE BLUE SHIRT", "sent": "the lady with the blue shirt", "tokens": [...], "sent_id": 0}]}
  for (const [index, ref] of refs.entries()) {
    const where = `${files.refs} item ${index}`
    if (!isRecord(ref)) {
      yield reject(`${corpus}/bad-row/item-${index}`, 'list', 'bad-row', `${where}: not a dict`, files.refs)
      continue
    }
    const split = typeof ref.split === 'string' ? ref.split : ''
    const refId = asInt(ref.ref_id)
    const annId = asInt(ref.ann_id)
    const imageId = asInt(ref.image_id)
    if (!/^[\w-]{1,64}$/.test(split) || refId === null || imageId === null) {
      yield reject(`${corpus}/bad-row/item-${index}`, 'list', 'bad-row', `${where}: split, ref_id or image_id missing or malformed`, files.refs)
      continue
    }
    if (wanted !== null && !wanted.has(split)) continue
    const key = `${corpus}/${split}/${refId}` // stable: sorting, resume and dedup rely on it
    const sourceIds = [`ref_id:${refId}`, ...(annId === null ? [] : [`ann_id:${annId}`]), `image_id:${imageId}`]

    const annotation = annId === null ? undefined : instances?.annotations.get(annId)
    const image = instances?.images.get(imageId)
    // The refer format's file_name carries an extra `_<ann_id>` suffix; the image's own name is in instances.json.
    const refFileName = typeof ref.file_name === 'string' ? (annId === null ? ref.file_name : ref.file_name.replace(new RegExp(`_${annId}(\\.\\w+)$`), '$1')) : null
    const resolved = resolveImage(imageId, image?.fileName ?? refFileName)
    if (!('path' in resolved)) {
      yield reject(key, 'list', resolved.code, `${where}: ${resolved.message}`, files.refs)
      continue
    }
    const box = boxOf(annotation?.bbox ?? ref.bbox)
    if (box === null) {
      const why = annId === null ? 'has no ann_id and no bbox' : instances === null ? `has no bbox and there is no instances.json` : `ann_id ${annId} is not in ${files.instances} and the ref has no bbox`
      yield reject(key, 'list', 'bad-annotation', `${where}: ${why}`, files.refs)
      continue
    }
    if (!box.every(Number.isFinite)) {
      yield reject(key, 'list', 'bad-box', `${where}: bbox ${JSON.stringify(box.map((v) => (Number.isFinite(v) ? v : null)))} has a NaN, infinite or missing coordinate`, resolved.path)
      continue
    }
    const expressions = expressionsOf(ref)
    if (expressions.length === 0) {
      yield reject(key, 'list', 'no-captions', `${where}: no sentence has any text`, resolved.path)
      continue
    }
    const categoryId = annotation?.categoryId ?? asInt(ref.category_id) ?? -1
    yield {
      key,
      source: resolved.path,
      corpus,
      split,
      boxPx: box,
      annotatedSize: image?.width != null && image.height != null ? [image.width, image.height] : null,
      category: instances?.categories.get(categoryId) ?? '',
      categoryId,
      expressions,
      sourceIds,
    }
  }
}

/**
 * RefCOCO (UNC splits): <root>/refcoco/refs(unc).p (or refs(google).p, or a .json / .jsonl / .parquet export with
 * the same fields, or refs.{json,jsonl,parquet}) + <root>/refcoco/instances.json (COCO format) + COCO train2014
 * images in the first of COCO_IMAGE_DIRS. `refcoco/` may also sit under `data/` (the refer repo) or be the root.
 */
export function listRefCoco(corpus: Corpus, { splits }: { splits?: readonly string[] } = {}): AsyncGenerator<GroundingSource | Reject> {
  return listReferCorpus(corpus, LAYOUTS.refcoco, splits)
}

/** RefCOCO+: as listRefCoco, in <root>/refcoco+/ with refs(unc).p. */
export function listRefCocoPlus(corpus: Corpus, { splits }: { splits?: readonly string[] } = {}): AsyncGenerator<GroundingSource | Reject> {
  return listReferCorpus(corpus, LAYOUTS['refcoco+'], splits)
}

/** RefCOCOg: as listRefCoco, in <root>/refcocog/ with refs(umd).p (UMD splits, preferred) or refs(google).p. */
export function listRefCocoG(corpus: Corpus, { splits }: { splits?: readonly string[] } = {}): AsyncGenerator<GroundingSource | Reject> {
  return listReferCorpus(corpus, LAYOUTS.refcocog, splits)
}

/**
 * ReferItGame in the refclef layout: <root>/refclef/refs(berkeley).p (or refs(unc).p, or an export) +
 * <root>/refclef/instances.json + SAIAPR TC-12 images under <root>/images/saiapr_tc-12/ (`<dd>/images/<id>.jpg`,
 * dd = id / 1000), indexed once recursively so any sub-layout with `<image_id>.jpg` names works.
 */
export function listReferItGame(corpus: Corpus, { splits }: { splits?: readonly string[] } = {}): AsyncGenerator<GroundingSource | Reject> {
  return listReferCorpus(corpus, LAYOUTS.referitgame, splits)
}

/** A phrase of a Flickr30k Entities sentence: its coreference chain, entity types and words. */
export interface EntityPhrase {
  chainId: string
  /** Entity types, e.g. ['people'] or ['people', 'other'] for `/EN#123/people/other`. */
  types: string[]
  text: string
}

/**
 * Parse one Flickr30k Entities sentence, nested phrases included; returns its phrases in order of their end
 * (inner before outer), or an error string for unbalanced markup.
 *   [/EN#18/people A child] in [/EN#19/clothing a pink dress] is climbing up [/EN#20/other a set of stairs] .
 */
export function parseEntitySentence(line: string): { words: string[]; phrases: EntityPhrase[] } | { error: string } {
  const words: string[] = []
  const phrases: EntityPhrase[] = []
  const open: { chainId: string; types: string[]; words: string[] }[] = []
  for (const token of line.split(/\s+/).filter((t) => t !== '')) {
    const closing = /\]+$/.exec(token)?.[0].length ?? 0
    const body = token.slice(0, token.length - closing)
    const header = /^\[\/EN#(\w+)((?:\/[^\s/[\]]+)+)$/.exec(body)
    if (header) {
      open.push({ chainId: header[1]!, types: header[2]!.split('/').filter((t) => t !== ''), words: [] })
    } else if (body.startsWith('[/EN#')) {
      return { error: `malformed phrase header ${JSON.stringify(token)}` }
    } else if (body !== '') {
      words.push(body)
      for (const phrase of open) phrase.words.push(body)
    }
    if (closing > open.length) return { error: `']' without an open phrase in ${JSON.stringify(token)}` }
    for (let i = 0; i < closing; i++) {
      const phrase = open.pop()!
      phrases.push({ chainId: phrase.chainId, types: phrase.types, text: phrase.words.join(' ') })
    }
  }
  if (open.length > 0) return { error: `phrase /EN#${open.at(-1)!.chainId} is never closed` }
  return { words, phrases }
}

/** One <object> of a Flickr30k Entities annotation: its chain ids and either a box or the nobndbox/scene flags. */
export interface EntityObject {
  names: string[]
  /** [x, y, w, h] continuous pixels, converted from 1-based inclusive VOC corners; null without <bndbox>. */
  box: BoxXywh | null
  nobndbox: boolean
  scene: boolean
}

/**
 * Parse a Flickr30k Entities `Annotations/<id>.xml` (VOC style). Coordinates there are 1-based and inclusive:
 * xmin 1, xmax 10 covers the first ten pixel columns, so the continuous box is x = xmin - 1, w = xmax - xmin + 1.
 * Returns the image size and objects, or an error string when the XML is not well-formed or not such a file.
 *   <annotation><size><width>500</width><height>375</height><depth>3</depth></size>
 *     <object><name>18</name><bndbox><xmin>1</xmin><ymin>20</ymin><xmax>120</xmax><ymax>300</ymax></bndbox></object>
 *     <object><name>21</name><nobndbox>0</nobndbox><scene>1</scene></object></annotation>
 */
export function parseEntityAnnotation(xml: string): { width: number; height: number; objects: EntityObject[] } | { error: string } {
  let root: XmlElement
  try {
    root = parseXml(xml)
  } catch (error) {
    return { error: (error as Error).message }
  }
  if (root.tag !== 'annotation') return { error: `the root element is <${root.tag}>, not <annotation>` }
  const child = (element: XmlElement | undefined, tag: string): XmlElement | undefined => element?.children.find((c) => c.tag === tag)
  const number = (element: XmlElement | undefined, tag: string): number => {
    const text = child(element, tag)?.text ?? ''
    return text === '' ? NaN : Number(text)
  }
  const size = child(root, 'size')
  const objects = root.children
    .filter((c) => c.tag === 'object')
    .map((object): EntityObject => {
      const bndbox = child(object, 'bndbox')
      const [xmin, ymin, xmax, ymax] = ['xmin', 'ymin', 'xmax', 'ymax'].map((t) => number(bndbox, t)) as [number, number, number, number]
      return {
        names: object.children.filter((c) => c.tag === 'name').map((c) => c.text),
        box: bndbox === undefined ? null : [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1],
        nobndbox: number(object, 'nobndbox') > 0,
        scene: number(object, 'scene') > 0,
      }
    })
  return { width: number(size, 'width'), height: number(size, 'height'), objects }
}

/** The smallest box holding every box (all [x, y, w, h] in the same units). */
export function unionBox(boxes: readonly BoxXywh[]): BoxXywh {
  const x0 = Math.min(...boxes.map((b) => b[0]))
  const y0 = Math.min(...boxes.map((b) => b[1]))
  const x1 = Math.max(...boxes.map((b) => b[0] + b[2]))
  const y1 = Math.max(...boxes.map((b) => b[1] + b[3]))
  return [x0, y0, x1 - x0, y1 - y0]
}

/** Rows of one Flickr30k image: one per coreference chain (every chain is an input: a row or a ledger line). */
async function* flickrChains(corpus: Corpus, split: string, imageId: string, imageDir: string): AsyncGenerator<GroundingSource | Reject> {
  const imageKey = `flickr30k-entities/${split}/${imageId}`
  const sentencesPath = `Sentences/${imageId}.txt`
  const annotationPath = `Annotations/${imageId}.xml`
  let annotationText: string
  let sentencesText: string
  try {
    sentencesText = await corpus.readText(sentencesPath)
    annotationText = await corpus.readText(annotationPath)
  } catch (error) {
    // A missing or linked-out annotation file is this image's problem: its ledger line, not the whole listing's.
    if (!(error instanceof CorpusFileError)) throw error
    yield reject(imageKey, 'list', error.code, error.code === 'missing-file' ? `${error.relative} does not exist` : error.message, error.relative)
    return
  }
  const annotation = parseEntityAnnotation(annotationText)
  if ('error' in annotation) {
    yield reject(imageKey, 'list', 'bad-annotation', `${annotationPath}: ${annotation.error}`, annotationPath)
    return
  }
  const chains = new Map<string, { phrases: string[]; types: string[]; boxes: BoxXywh[]; nobndbox: boolean; scene: boolean }>()
  const chain = (id: string) => {
    let c = chains.get(id)
    if (c === undefined) chains.set(id, (c = { phrases: [], types: [], boxes: [], nobndbox: false, scene: false }))
    return c
  }
  const lines = sentencesText.split('\n')
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue
    const parsed = parseEntitySentence(line)
    if ('error' in parsed) {
      yield reject(imageKey, 'list', 'bad-annotation', `${sentencesPath} line ${i + 1}: ${parsed.error}`, sentencesPath)
      return
    }
    for (const phrase of parsed.phrases) {
      const c = chain(phrase.chainId)
      const text = clean(phrase.text)
      if (text !== '' && !c.phrases.includes(text)) c.phrases.push(text) // a chain repeats phrases across sentences
      for (const type of phrase.types) if (!c.types.includes(type)) c.types.push(type)
    }
  }
  for (const object of annotation.objects) {
    for (const name of object.names) {
      const c = chain(name)
      if (object.box !== null) c.boxes.push(object.box)
      c.nobndbox ||= object.nobndbox
      c.scene ||= object.scene
    }
  }
  const source = `${imageDir}/${imageId}.jpg`
  const byNumber = (a: string, b: string): number => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0)
  for (const chainId of [...chains.keys()].sort(byNumber)) {
    const c = chains.get(chainId)!
    const key = `${imageKey}/${chainId}`
    if (c.boxes.length === 0) {
      const why = c.scene || c.nobndbox
        ? `marked ${[c.nobndbox ? 'nobndbox' : '', c.scene ? 'scene' : ''].filter((s) => s !== '').join(' and ')} in ${annotationPath}: no box drawn`
        : `has no object in ${annotationPath} (type ${c.types.join('/') || 'unknown'}): no box drawn`
      yield reject(key, 'list', 'no-box', `chain ${chainId} ${why}`, annotationPath)
      continue
    }
    if (c.phrases.length === 0) {
      yield reject(key, 'list', 'no-captions', `chain ${chainId} has a box in ${annotationPath} but no phrase with text in ${sentencesPath}`, sentencesPath)
      continue
    }
    // Several boxes for one chain (a plural phrase: "two dogs") are merged into their union, the common practice
    // in phrase grounding, since a row holds one box.
    const box = unionBox(c.boxes)
    if (!box.every(Number.isFinite)) {
      yield reject(key, 'list', 'bad-box', `chain ${chainId}: a <bndbox> in ${annotationPath} has a missing or non-numeric coordinate`, annotationPath)
      continue
    }
    yield {
      key,
      source,
      corpus: 'flickr30k-entities',
      split,
      boxPx: box,
      annotatedSize: Number.isInteger(annotation.width) && Number.isInteger(annotation.height) ? [annotation.width, annotation.height] : null,
      category: c.types.join('/'),
      categoryId: -1,
      expressions: c.phrases,
      sourceIds: [`image_id:${imageId}`, `chain_id:${chainId}`],
    }
  }
}

/**
 * Flickr30k Entities: <root>/{train,val,test}.txt (image ids, one per line), <root>/Sentences/<id>.txt (five
 * sentences with `[/EN#<chain>/<type> words]` markup), <root>/Annotations/<id>.xml (VOC-style boxes, 1-based
 * inclusive) and images <root>/flickr30k-images/<id>.jpg (or another of FLICKR30K_IMAGE_DIRS). One record per
 * (image, chain) with its phrases and the union of its boxes; chains without a box (nobndbox, scene, notvisual)
 * are 'no-box' ledger lines. Throws when no split file or image folder exists.
 */
export async function* listFlickr30kEntities(corpus: Corpus, { splits = FLICKR30K_SPLITS }: { splits?: readonly string[] } = {}): AsyncGenerator<GroundingSource | Reject> {
  const present: string[] = []
  for (const split of splits) if (await corpus.exists(`${split}.txt`)) present.push(split)
  if (present.length === 0) throw metadataNotFound(corpus, 'flickr30k-entities', splits.map((s) => `${s}.txt`))
  const imageDir = await firstExisting(corpus, FLICKR30K_IMAGE_DIRS)
  if (imageDir === null) throw new Error(`flickr30k-entities: no image folder in ${corpus.location} (looked for ${FLICKR30K_IMAGE_DIRS.join(', ')})`)
  for (const split of present) {
    // A split file reads one image id per line:
    //   1000092795
    const lines = (await corpus.readText(`${split}.txt`)).split('\n')
    for (const [i, line] of lines.entries()) {
      const imageId = line.trim()
      if (imageId === '') continue
      if (!/^[\w-]{1,64}$/.test(imageId)) {
        const unsafe = safeRelativePath(imageId) === null || /[/\\]/.test(imageId)
        yield reject(`flickr30k-entities/${split}/line-${i + 1}`, 'list', unsafe ? 'unsafe-path' : 'bad-row', `${split}.txt line ${i + 1}: image id ${JSON.stringify(imageId)} ${unsafe ? 'is a path; not opened' : 'is malformed'}`, `${split}.txt`)
        continue
      }
      yield* flickrChains(corpus, split, imageId, imageDir)
    }
  }
}
