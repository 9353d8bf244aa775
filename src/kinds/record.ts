// What every listed record carries, whatever its corpus: a stable key (sorting, sharding, resume and
// dedup rely on it) and the path of its main input file relative to the corpus root (for the ledger).
import type { Reject } from './reject.js'

/** The fields the runner needs from any record. */
export interface SourceRecord {
  /** Stable, unique record key, e.g. `clotho/development/rain.wav`. */
  key: string
  /** Main input file, relative to the corpus root, '/'-separated. */
  source: string
  /** Split as the corpus names it (train, val, test, ...). */
  split: string
  /** Identifiers the corpus gives the item, as `name:value` (`youtube_id:...`, `image_id:...`). */
  sourceIds: string[]
}

/**
 * The sourceIds names that identify a source item (a video, an image, an audio file) rather than one annotation
 * of it: the same one in two splits of a corpus is a split leak.
 */
export const SOURCE_ITEM_IDS = ['youtube_id', 'image_id', 'file_name', 'file', 'flickr_id'] as const

/**
 * What a record kind's stage receives: the listed record and, for each corpus file it names, a local path the
 * runner has already checked (it exists, is a regular file, and stays inside the corpus).
 */
export interface StageItem<R extends SourceRecord> {
  record: R
  /** corpus-relative path -> local path to open */
  files: Readonly<Record<string, string>>
}

/** A stage maps one item to the next item or to a Reject; the runner owns concurrency, order and the ledger. */
export type Stage<In, Out> = (item: In) => Promise<Out | Reject>

/**
 * A row as the writer takes it and the reader returns it, keyed by field name. Values by type: utf8 string;
 * int32, float32, float64 number; int64 bigint (the writer also takes a safe-integer number); bool boolean;
 * binary Uint8Array; list<float32> Float32Array, list<float64> Float64Array, list<int32> Int32Array,
 * list<int64> BigInt64Array (the writer also takes plain number arrays); other lists are arrays of their items.
 * The dataset writer checks each row against the schema, naming the field and the row key.
 */
export type Row = Record<string, unknown>
