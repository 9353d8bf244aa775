// Flickr-SoundNet sound-source localization test set (Senocak et al. 2018) -> AudioVisualSource records, one per
// annotated image with every annotator's boxes. Listing only: no decoding, no writing. Records are plain JSON.
import { reject, type Reject } from '../src/kinds/reject.js'
import { CorpusFileError, metadataNotFound, type Corpus } from '../src/dataset/corpus.js'
import { parseXml, type XmlElement } from '../src/formats/xml.js'
import { AUDIO_FILE_EXTENSIONS, IMAGE_EXTENSIONS, findStem, indexFiles } from '../src/etl/file-index.js'
import type { AudioVisualSource, ListedBox } from '../src/kinds/audio-image-boxes.js'

export const FLICKR_SOUNDNET_SPLITS = ['test'] as const

/** Test lists, in order of preference: one id per line (`2432219254.png` in test_list.txt), or a CSV whose first column is the id. */
export const FLICKR_TEST_LISTS = ['flickr_test.txt', 'test_list.txt', 'flickr_test.csv', 'flickr_test249_in5k.csv', 'metadata/flickr_test.csv'] as const
/** Folders searched for `<id>.xml`, frames `<id>.jpg` and audio `<id>.wav`, in order. */
export const FLICKR_ANNOTATION_DIRS = ['Annotations', 'annotations', 'Test/Annotations', 'anno'] as const
export const FLICKR_FRAME_DIRS = ['frames', 'Data/frames', 'Test/frames'] as const
export const FLICKR_AUDIO_DIRS = ['audio', 'Data/audio', 'Test/audio'] as const

/** Annotation coordinates are integers on a 256 x 256 grid laid over the whole frame, whatever its size. */
export const FLICKR_GRID = 256

// Flickr ids are digits; a little slack for renamed files, none for path syntax.
const ITEM_ID = /^[\w][\w.-]{0,127}$/


const isBoxTag = (tag: string): boolean => /^(bbox|bndbox)$/i.test(tag)

/** Every box element under `element` (itself included), in document order. */
function boxElements(element: XmlElement): XmlElement[] {
  return isBoxTag(element.tag) ? [element] : element.children.flatMap(boxElements)
}

/**
 * The boxes of one Flickr-SoundNet annotation file, as fractions of the frame, with annotator indices.
 *
 * Assumed format (the files themselves are only in the dataset download; parsers in LVS / EZ-VSL read
 * `for child in root: for bbox in child: skip bbox[0], read the next four as xmin, ymin, xmax, ymax`):
 *   <annotation> <object> <bbox> <something/> <xmin>12</xmin> <ymin>30</ymin> <xmax>140</xmax> <ymax>250</ymax> </bbox> </object> ... </annotation>
 * Each child of the root that holds boxes is one annotator (its boxes share its index, counted over such
 * children); a box element directly under the root is an annotator of its own. Coordinates are read by name
 * (xmin, ymin, xmax, ymax; `<bndbox>` accepted too), not by position, and divided by FLICKR_GRID: the 256 grid
 * spans the whole frame (the published evaluation scales it to the 224 x 224 resized frame: 224 * v / 256).
 * A box whose four coordinates are not all numbers is listed as null (dropped by the stage as 'nan').
 */
export function flickrBoxes(root: XmlElement): ListedBox[] {
  const boxes: ListedBox[] = []
  let annotator = 0
  for (const child of root.children) {
    const found = boxElements(child)
    if (found.length === 0) continue
    for (const box of found) {
      const value = (name: string): number => {
        const text = box.children.find((c) => c.tag.toLowerCase() === name)?.text ?? ''
        return /^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN
      }
      const [x0, y0, x1, y1] = ['xmin', 'ymin', 'xmax', 'ymax'].map(value) as [number, number, number, number]
      const ok = [x0, y0, x1, y1].every(Number.isFinite)
      boxes.push({ xywh: ok ? [x0 / FLICKR_GRID, y0 / FLICKR_GRID, (x1 - x0) / FLICKR_GRID, (y1 - y0) / FLICKR_GRID] : null, annotator })
    }
    annotator++
  }
  return boxes
}

/** Ids of the test list: first cell of each non-empty line, file extension removed. */
export function parseTestList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => (line.split(/[,\s]/)[0] ?? '').trim().replace(/^"|"$/g, ''))
    .filter((id) => id !== '')
    .map((id) => id.replace(/\.(png|jpe?g|wav|mp3|mp4|xml|mat)$/i, ''))
}

/**
 * Flickr-SoundNet annotated test pairs.
 * Layout: a test list (the first of FLICKR_TEST_LISTS present; without one, every annotation file is listed),
 * one XML per id in <root>/Annotations/<id>.xml (FLICKR_ANNOTATION_DIRS) with several annotators' boxes on a
 * 256 grid (see flickrBoxes), the frame in <root>/frames/<id>.jpg and the audio in <root>/audio/<id>.wav (.mp3
 * and other extensions too; also under Data/ or Test/, or both beside each other in Data/<n>/<id>.jpg and
 * Data/<n>/<id>.wav, as the download keeps them). Audio window 0 to --max-seconds s; frame time unknown.
 * An id whose XML holds no box is a 'no-box' reject; an XML that does not parse is 'bad-annotation'.
 */
export async function* listFlickrSoundNet(corpus: Corpus, { splits = FLICKR_SOUNDNET_SPLITS }: { splits?: readonly string[] } = {}): AsyncGenerator<AudioVisualSource | Reject> {
  if (!splits.includes('test')) return
  // The download keeps each frame beside its audio in numbered folders: Data/<n>/<id>.jpg and Data/<n>/<id>.wav.
  const numbered = (await corpus.list('Data')).filter((e) => e.kind === 'directory').map((e) => `Data/${e.name}`)
  const annotations = await indexFiles(corpus, FLICKR_ANNOTATION_DIRS, ['.xml'])
  const frames = await indexFiles(corpus, [...FLICKR_FRAME_DIRS, ...numbered], IMAGE_EXTENSIONS)
  const audio = await indexFiles(corpus, [...FLICKR_AUDIO_DIRS, ...numbered], AUDIO_FILE_EXTENSIONS)
  let listName: string | undefined
  for (const name of FLICKR_TEST_LISTS) if (listName === undefined && (await corpus.exists(name))) listName = name
  if (listName === undefined && annotations.size === 0) throw metadataNotFound(corpus, 'flickr-soundnet', [...FLICKR_TEST_LISTS, ...FLICKR_ANNOTATION_DIRS.map((d) => `${d}/<id>.xml`)])
  // A list reads one id per line: `10000130166.png` (test_list.txt) or `10000130166` (flickr_test.csv).
  const ids = listName === undefined ? [...annotations.keys()].sort() : parseTestList(await corpus.readText(listName))
  const listed = listName ?? 'Annotations/'
  for (const id of ids) {
    const key = `flickr-soundnet/test/${id}`
    if (!ITEM_ID.test(id)) {
      const code = /[/\\]|\.\./.test(id) ? 'unsafe-path' : 'bad-row'
      yield reject(key, 'list', code, `${listed}: id ${JSON.stringify(id)} is not a plain file name; not opened`, listName)
      continue
    }
    const xml = annotations.get(id)
    const frame = findStem(frames, [id])
    const sound = findStem(audio, [id])
    if (xml === undefined || frame === undefined || sound === undefined) {
      const missing = [xml === undefined ? `Annotations/${id}.xml` : null, frame === undefined ? `frames/${id}.jpg` : null, sound === undefined ? `audio/${id}.wav` : null]
      yield reject(key, 'list', 'missing-file', `${missing.filter((m) => m !== null).join(', ')} not found`, frame ?? xml ?? listName)
      continue
    }
    let boxes: ListedBox[]
    try {
      boxes = flickrBoxes(parseXml(await corpus.readText(xml)))
    } catch (error) {
      // An annotation file that is a link out of the corpus is this item's problem, not the whole listing's.
      if (error instanceof CorpusFileError) yield reject(key, 'list', error.code, error.message, xml)
      else yield reject(key, 'list', 'bad-annotation', `${xml}: ${(error as Error).message}`, xml)
      continue
    }
    if (boxes.length === 0) {
      yield reject(key, 'list', 'no-box', `${xml}: no <bbox> element`, xml)
      continue
    }
    yield {
      key,
      source: frame,
      corpus: 'flickr-soundnet',
      split: 'test',
      label: '',
      sourceIds: [`flickr_id:${id}`],
      frame: { kind: 'image', timeSec: -1 },
      audio: sound,
      window: { centreSec: null, clipSec: null },
      boxes,
    }
  }
}
