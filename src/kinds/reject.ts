// Bad input is a value, not an exception: a stage returns a Reject and the runner writes one
// rejects.jsonl line for it, so every input ends as a row or a ledger line (inputs = rows + rejects).

/**
 * Every reason an input can be rejected for: a closed set, so reports and the manifest count by code. Each has the
 * stages that use it and its meaning, as the README's reject table shows them (generated from here).
 */
export const REJECT_REASONS = {
  'missing-file': { stage: 'list / decode / image', meaning: 'a file the metadata names does not exist' },
  'unsafe-path': { stage: 'list', meaning: 'a file name leaves the corpus folder (`../`, absolute); never opened' },
  unreadable: { stage: 'decode / image', meaning: 'the path exists but is not a readable regular file' },
  'ffmpeg-failed': { stage: 'decode / frame', meaning: "ffmpeg cannot read the file (not audio, empty, unknown container); ffmpeg's last error line" },
  truncated: { stage: 'decode', meaning: 'ffmpeg exited 0 but decoded less than the container promises, or reported a partial file' },
  'too-short': { stage: 'decode', meaning: 'less than `--min-seconds` decoded' },
  silent: { stage: 'decode', meaning: 'decoded audio is digital silence' },
  'no-captions': { stage: 'list / tokenize', meaning: 'every caption or expression cell is empty' },
  'bad-caption': { stage: 'tokenize', meaning: "no caption has any text left after BERT's cleaning (control characters only)" },
  'bad-row': { stage: 'list', meaning: 'a metadata row with a missing or malformed id or number' },
  duplicate: { stage: 'list', meaning: 'a key listed twice; the first is kept' },
  'split-leak': { stage: 'list', meaning: 'with `--on-split-leak reject`: the item is in a later split of the corpus too (same YouTube id, image or file); the copy in the last split is kept' },
  'bad-image': { stage: 'image', meaning: 'an image or frame that cannot be decoded (corrupt, truncated, unsupported, over the pixel limit)' },
  'bad-box': { stage: 'list / image', meaning: 'every box of the item is NaN, degenerate or outside the image' },
  'bad-annotation': { stage: 'list / image', meaning: 'an annotation that cannot be parsed or does not match its image (size, missing `ann_id`)' },
  'no-box': { stage: 'list', meaning: 'the corpus marks the item as having no box (Flickr30k `nobndbox`/`scene`, MUSIC-Solo frames without a box); not counted toward `--max-reject-ratio`' },
} as const satisfies Record<string, { stage: string; meaning: string }>

/** The reject codes, in the order of REJECT_REASONS. */
export const REJECT_CODES = Object.keys(REJECT_REASONS) as (keyof typeof REJECT_REASONS)[]
export type RejectCode = keyof typeof REJECT_REASONS

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
