// The names of everything in a dataset directory, in one place. A finished dataset reads:
//   <dir>/manifest.json          schema, settings, source, part files with their hashes, counts, version (last)
//   <dir>/part-00000.parquet     rows of unit 0, sorted by key (a unit whose inputs were all rejected has none)
//   <dir>/rejects.jsonl          one line per rejected input
//   <dir>/README.md              the dataset card (card.ts), written after the manifest; derived, not in the version
//   <dir>/.turnkit/run.json      the build's identity (pipeline, schema, settings, listing): resume and merge check it
//   <dir>/.turnkit/environment.json   tool and environment facts for the manifest that do not change bytes
//   <dir>/.turnkit/unit-00000.json    what unit 0 produced (its part file's entry, its rejects, its rows by split and
//                                     label for the card), written after it
//   <dir>/.turnkit/lock          while a process builds the directory: its pid and host

export const MANIFEST_FILE = 'manifest.json'
export const LEDGER_FILE = 'rejects.jsonl'
/** The dataset card: for people and for Hugging Face `datasets` (card.ts). Derived from the dataset, not hashed. */
export const CARD_FILE = 'README.md'
/** The build's own state, beside the dataset's files; readers never look inside. */
export const STATE_DIR = '.turnkit'
export const BUILD_FILE = 'run.json'
export const ENVIRONMENT_FILE = 'environment.json'
/** Held by the one process building the directory (pid, host, since). */
export const LOCK_FILE = 'lock'

const pad = (unit: number): string => {
  if (!Number.isInteger(unit) || unit < 0) throw new Error(`dataset layout: unit ${unit} must be an integer >= 0`)
  return String(unit).padStart(5, '0')
}

/** The part file of unit `unit`: `part-00000.parquet`. Throws on a negative or non-integer unit. */
export const partFileName = (unit: number): string => `part-${pad(unit)}.parquet`

/** The result record of unit `unit` inside STATE_DIR: `unit-00000.json`. */
export const unitFileName = (unit: number): string => `unit-${pad(unit)}.json`

/** The unit number of a unit result file name, or undefined for any other name. */
export function unitOfFileName(name: string): number | undefined {
  const m = /^unit-(\d{5,})\.json$/.exec(name)
  return m ? Number(m[1]) : undefined
}

/** A temporary name that `writeFileAtomic` leaves behind when killed mid-write (never read, safe to delete). */
export const isTemporaryName = (name: string): boolean => /\.tmp-\d+-[0-9a-f]+$/.test(name)
