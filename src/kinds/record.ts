// What every listed record carries, whatever its corpus: a stable key (sorting, sharding, resume and
// dedup rely on it) and the path of its main input file relative to the corpus root (for the ledger).
import type { Reject } from './reject.js'

/** The fields the runner needs from any record. */
export interface SourceRecord {
  /** Stable, unique record key, e.g. `clotho/development/rain.wav`. */
  key: string
  /** Main input file, relative to the corpus root, '/'-separated. */
  source: string
}

/** A stage maps one item to the next item or to a Reject; the runner owns concurrency, order and the ledger. */
export type Stage<In, Out> = (item: In) => Promise<Out | Reject>
