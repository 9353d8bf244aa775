// Bad input is a value, not an exception: a stage returns a Reject and the runner writes one
// rejects.jsonl line for it, so every input ends as a row or a ledger line (inputs = rows + rejects).

/** Closed set of reasons, so reports and the manifest can count rejects by code. */
export const REJECT_CODES = [
  'missing-file', // the record names a file that does not exist
  'unsafe-path', // a path escapes the corpus root (`../`, absolute) and is never opened
  'unreadable', // the file exists but cannot be read (permissions, not a regular file)
  'ffmpeg-failed', // ffmpeg exited non-zero: not audio, or a container it cannot parse
  'truncated', // ffmpeg exited 0 but decoded less audio than the container promised
  'too-short', // decoded audio shorter than --min-seconds
  'silent', // decoded audio is digital silence
  'no-captions', // no usable caption or expression
  'bad-caption', // a caption that is empty after cleaning or not valid text
  'bad-row', // a metadata row that cannot be parsed (missing columns, bad number)
  'duplicate', // the same record key listed twice; the first one is kept
  'bad-image', // an image that cannot be decoded
  'bad-box', // a box that is degenerate, NaN or outside the image
  'bad-annotation', // an annotation file that cannot be parsed
  'no-box', // an evaluation item without any ground-truth box
] as const
export type RejectCode = (typeof REJECT_CODES)[number]

/**
 * Codes that record what a corpus itself marks as unusable (a Flickr30k Entities chain without a box, a
 * MUSIC-Solo frame without one). They get a ledger line and count as rejects in `inputs = rows + rejects`, but
 * not toward --max-reject-ratio: they say nothing about the health of the copy being prepared.
 */
export const EXPECTED_SKIP_CODES: readonly RejectCode[] = ['no-box']

/** One rejected input. `source` is the path relative to the corpus root (never absolute). */
export interface Reject {
  kind: 'reject'
  key: string
  stage: string
  code: RejectCode
  message: string
  source?: string
}

export const reject = (key: string, stage: string, code: RejectCode, message: string, source?: string): Reject =>
  source === undefined ? { kind: 'reject', key, stage, code, message } : { kind: 'reject', key, stage, code, message, source }

export const isReject = (x: unknown): x is Reject =>
  typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'reject'
