// AudioCaps and Clotho raw layouts -> AudioCaptionSource records (one per audio clip, all its captions).
// Listing only: no decoding, no writing. Records are plain JSON data.
import { reject, type Reject } from '../src/kinds/reject.js'
import type { AudioCaptionSource } from '../src/kinds/audio-text.js'
import { safeRelativePath } from '../src/kinds/paths.js'
import { parseCsvWithHeader } from '../src/formats/text.js'
import { metadataNotFound, type Corpus } from '../src/dataset/corpus.js'
import { indexFiles } from '../src/etl/file-index.js'

export const AUDIOCAPS_SPLITS = ['train', 'val', 'test'] as const
export const CLOTHO_SPLITS = ['development', 'validation', 'evaluation'] as const

/** Audio extensions looked for, in order of preference when a clip exists in several. */
export const AUDIO_EXTENSIONS = ['.wav', '.flac', '.mp3', '.m4a', '.ogg', '.opus', '.webm', '.mkv', '.mp4'] as const

/** Folders (relative to the root) where AudioCaps audio is found in the common layouts, `{split}` substituted. */
export const AUDIOCAPS_AUDIO_DIRS = ['audio/{split}', '{split}', 'waveforms/{split}', 'audio'] as const

const cleanCaption = (c: string): string => c.replace(/\s+/g, ' ').trim()

/**
 * AudioCaps clips, grouped by YouTube id (val/test have 5 caption rows per clip, train 1).
 * Layout: <root>/<split>.csv with `audiocap_id,youtube_id,start_time,caption`; audio in one of
 * AUDIOCAPS_AUDIO_DIRS, named `<youtube_id>`, `Y<youtube_id>`, `<youtube_id>_<start_time>` or `<audiocap_id>`
 * with any of AUDIO_EXTENSIONS. Audio files are expected already cut to the 10 s clip.
 */
export async function* listAudioCaps(corpus: Corpus, options: { splits?: readonly string[] } = {}): AsyncGenerator<AudioCaptionSource | Reject> {
  const splits = await splitsWithMetadata(corpus, 'audiocaps', options.splits, AUDIOCAPS_SPLITS, (split) => `${split}.csv`)
  for (const split of splits) {
    const csvName = `${split}.csv`
    const index = await indexFiles(corpus, AUDIOCAPS_AUDIO_DIRS.map((d) => d.replace('{split}', split)), AUDIO_EXTENSIONS)
    // Each row reads: audiocap_id,youtube_id,start_time,caption
    //   91139,r1nicOVtvkQ,130,A woman talks nearby as water pours
    const { rows } = parseCsvWithHeader(await corpus.readText(csvName))
    const clips = new Map<string, { start: string; rows: { id: string; caption: string }[] }>()
    for (const { line, cells } of rows) {
      const ytid = (cells.youtube_id ?? '').trim()
      const id = (cells.audiocap_id ?? '').trim()
      if (!/^[\w-]{1,64}$/.test(ytid) || !/^\d+$/.test(id)) {
        yield reject(`audiocaps/${split}/line-${line}`, 'list', 'bad-row', `${csvName} line ${line}: youtube_id or audiocap_id missing or malformed`, csvName)
        continue
      }
      const clip = clips.get(ytid) ?? { start: (cells.start_time ?? '').trim(), rows: [] }
      clip.rows.push({ id, caption: cleanCaption(cells.caption ?? '') })
      clips.set(ytid, clip)
    }
    for (const [ytid, clip] of clips) {
      const key = `audiocaps/${split}/${ytid}`
      const ids = clip.rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b))
      const captions = clip.rows
        .sort((a, b) => Number(a.id) - Number(b.id))
        .map((r) => r.caption)
        .filter((c) => c !== '')
      const candidates = [ytid, `Y${ytid}`, `${ytid}_${clip.start}`, `Y${ytid}_${clip.start}`, ...ids]
      const file = candidates.map((stem) => index.get(stem)).find((f) => f !== undefined)
      if (file === undefined) {
        yield reject(key, 'list', 'missing-file', `no audio file for ${ytid} in ${AUDIOCAPS_AUDIO_DIRS.map((d) => d.replace('{split}', split)).join(', ')}`, csvName)
      } else if (captions.length === 0) {
        yield reject(key, 'list', 'no-captions', 'all caption cells empty', file)
      } else {
        yield { key, source: file, corpus: 'audiocaps', split, captions, sourceIds: [`youtube_id:${ytid}`, ...ids.map((id) => `audiocap_id:${id}`)] }
      }
    }
  }
}

/**
 * Clotho clips with their five captions.
 * Layout: <root>/clotho_captions_<split>.csv (`file_name,caption_1..caption_5`, UTF-8 or ISO-8859-1),
 * audio in <root>/<split>/<file_name>.
 */
export async function* listClotho(corpus: Corpus, options: { splits?: readonly string[] } = {}): AsyncGenerator<AudioCaptionSource | Reject> {
  const splits = await splitsWithMetadata(corpus, 'clotho', options.splits, CLOTHO_SPLITS, (split) => `clotho_captions_${split}.csv`)
  for (const split of splits) {
    const csvName = `clotho_captions_${split}.csv`
    // Each row reads: file_name,caption_1,...,caption_5
    //   rain_on_tin_roof.wav,Heavy rain drums on a metal roof,...
    const { header, rows } = parseCsvWithHeader(await corpus.readText(csvName))
    const captionColumns = header.filter((h) => /^caption_\d+$/.test(h))
    for (const { line, cells } of rows) {
      const fileName = (cells.file_name ?? '').trim()
      if (fileName === '') {
        yield reject(`clotho/${split}/line-${line}`, 'list', 'bad-row', `${csvName} line ${line}: empty file_name`, csvName)
        continue
      }
      const key = `clotho/${split}/${fileName}` // stable: sorting, resume and dedup rely on it
      // Checked on its own, so an absolute name is refused too, not silently re-rooted under the split folder.
      const source = safeRelativePath(fileName) === null ? null : safeRelativePath(`${split}/${fileName}`)
      if (source === null || !source.startsWith(`${split}/`)) {
        yield reject(key, 'list', 'unsafe-path', `${csvName} line ${line}: file_name ${JSON.stringify(fileName)} leaves the ${split}/ folder; not opened`, csvName)
        continue
      }
      const captions = captionColumns.map((c) => cleanCaption(cells[c] ?? '')).filter((c) => c !== '')
      if (captions.length === 0) {
        yield reject(key, 'list', 'no-captions', `${csvName} line ${line}: all caption cells empty`, source)
        continue
      }
      yield { key, source, corpus: 'clotho', split, captions, sourceIds: [`file_name:${fileName}`] }
    }
  }
}

/**
 * The splits to list: those asked for (each must have its metadata file) or, by default, every split whose
 * metadata file is there. Throws naming every file looked for when none is.
 */
async function splitsWithMetadata(
  corpus: Corpus,
  name: string,
  asked: readonly string[] | undefined,
  known: readonly string[],
  metadataOf: (split: string) => string,
): Promise<string[]> {
  const present: string[] = []
  for (const split of asked ?? known) if (await corpus.exists(metadataOf(split))) present.push(split)
  const missing = (asked ?? []).filter((split) => !present.includes(split))
  if (present.length === 0 || missing.length > 0) {
    throw metadataNotFound(corpus, name, (missing.length > 0 ? missing : known).map(metadataOf), 'give --src the folder the corpus was downloaded to, or --split only the splits it has')
  }
  return present
}
