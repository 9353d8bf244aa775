// Find media files by stem in the folders a corpus layout may use, reading each folder once: listing a corpus
// of 200k videos must not stat 200k x (folders x names x extensions) paths.
import { basename, extname } from 'node:path'
import type { Corpus } from '../dataset/corpus.js'

/** Video containers looked for, in order of preference when a stem exists in several. */
export const VIDEO_EXTENSIONS = ['.mp4', '.mkv', '.webm', '.mov', '.avi'] as const
/** Audio containers looked for, in order of preference. */
export const AUDIO_FILE_EXTENSIONS = ['.wav', '.flac', '.mp3', '.m4a', '.ogg', '.opus'] as const
/** Still images looked for, in order of preference. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Map "stem -> path relative to the corpus root ('/'-separated)" for every file with one of `extensions`
 * (case-insensitive) directly inside the folders `dirs` (relative to the root; '' is the root). Folders that do
 * not exist are skipped. The first folder wins; within a folder the earlier extension wins, so the choice is
 * deterministic. Throws what `Corpus.list` throws for a folder that is a link out of the corpus.
 */
export async function indexFiles(corpus: Corpus, dirs: readonly string[], extensions: readonly string[]): Promise<Map<string, string>> {
  const index = new Map<string, string>()
  const rank = (name: string): number => extensions.indexOf(extname(name).toLowerCase())
  for (const dir of dirs) {
    const names = (await corpus.list(dir)).filter((e) => e.kind === 'file' && rank(e.name) >= 0).map((e) => e.name)
    names.sort((a, b) => rank(a) - rank(b) || byName(a, b))
    for (const name of names) {
      const stem = basename(name, extname(name))
      if (!index.has(stem)) index.set(stem, dir === '' ? name : `${dir}/${name}`)
    }
  }
  return index
}

/** The first of `stems` present in `index`, or undefined. */
export const findStem = (index: ReadonlyMap<string, string>, stems: readonly string[]): string | undefined =>
  stems.map((stem) => index.get(stem)).find((path) => path !== undefined)
